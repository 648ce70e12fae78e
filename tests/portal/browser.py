"""Helpers for the portal's browser tests: Debian's Chromium (never a downloaded browser), the
page texts in both languages, axe-core and screenshots at phone and desktop widths."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

VENDOR = Path(__file__).parent / "vendor"
AXE_JS = VENDOR / "axe.min.js"
SCREENSHOTS_ENV = "PLATEBIND_SCREENSHOTS"

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}

# Chromium's own background traffic has nowhere to go on a closed network: keep it quiet.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# Crockford base32 in three groups of four (platebind.registry.transfers).
TRANSFER_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
BLOCKING_IMPACTS = ("serious", "critical")


def chromium_executable() -> str:
    """The system's Chromium; without one, fail under CI and skip elsewhere."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.access("/usr/bin/chromium", os.X_OK):
        found = "/usr/bin/chromium"
    if found is not None:
        return found
    reason = "no Chromium on this machine (Debian: apt-get install chromium); nothing is downloaded"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests are mandatory when CI=true: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Texts:
    """What the pages say in one language (the templates' msgids and their zh-TW catalogue)."""

    locale: str
    switch_to: str | None  # the header button that selects this language, None for the default
    bills: str
    parking: str
    add_plate: str
    car: str
    plate_label: str
    look_up: str
    log_out: str
    log_in: str
    email: str
    password: str
    national_id: str
    register: str
    get_code: str  # for 臺北市公有停車場 / Taipei public parking lots
    copy: str
    copied: str
    watch: str
    held: str  # 車麻吉 holds the plate
    unbind_ends: str  # an unbind made now ends at Saturday 04:00
    moving: str  # 車麻吉 → Pi 拍錢包 at Saturday 04:00
    login_failed: str
    csrf_failed: str
    skip_link: str


SATURDAY_0400 = "2026-11-28 (週六) 04:00"
SATURDAY_0400_EN = "2026-11-28 (Sat) 04:00"

ZH = Texts(
    locale="zh-TW",
    switch_to=None,
    bills="我的帳單",
    parking="北市停車費",
    add_plate="新增綁定",
    car="汽車",
    plate_label="車號",
    look_up="查詢並新增",
    log_out="登出",
    log_in="登入",
    email="電子郵件",
    password="密碼",
    national_id="身分證統一編號或居留證號",
    register="註冊",
    get_code="取得「臺北市公有停車場」移轉碼",
    copy="複製",
    copied="已複製",
    watch="生效時通知我",
    held="目前綁定於 車麻吉。",
    unbind_ends=f"現在解除將於 {SATURDAY_0400} 生效",
    moving=f"將於 {SATURDAY_0400} 由 車麻吉 移轉至 Pi 拍錢包。",
    login_failed="電子郵件或密碼錯誤。",
    csrf_failed="表單已逾時或並非來自本網站，請重新整理頁面後再試一次。",
    skip_link="跳到主要內容",
)

EN = Texts(
    locale="en",
    switch_to="English",
    bills="My bills",
    parking="Taipei parking fees",
    add_plate="Add a plate",
    car="Car",
    plate_label="Plate",
    look_up="Look up and add",
    log_out="Log out",
    log_in="Log in",
    email="E-mail address",
    password="Password",
    national_id="National ID or resident certificate number",
    register="Register",
    get_code="Get a transfer code for Taipei public parking lots",
    copy="Copy",
    copied="Copied",
    watch="Tell me when this takes effect",
    held="Bound to 車麻吉.",
    unbind_ends=f"an unbind made now ends at {SATURDAY_0400_EN}.",
    moving=f"Moves from 車麻吉 to Pi 拍錢包 at {SATURDAY_0400_EN}.",
    login_failed="The e-mail address or password is incorrect.",
    csrf_failed=(
        "The form has expired or did not come from this site. Reload the page and try again."
    ),
    skip_link="Skip to content",
)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as shown (the context must bypass the CSP)."""
    page.add_script_tag(path=AXE_JS)
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and element: rule, impact, selector, what axe says is wrong."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"{violation['id']} ({violation['impact']}) at {target}: {summary}")
    return "\n".join(lines)


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


class Screenshots:
    """Full-page PNGs of the current page at both widths, named ``<page>-<width>.png``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.taken: list[Path] = []

    def take(self, page: Page, name: str) -> None:
        before = page.viewport_size
        for width, size in WIDTHS.items():
            page.set_viewport_size(size)
            path = self.directory / f"{name}-{width}.png"
            page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")
            assert path.stat().st_size > 0, path
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
            self.taken.append(path)
        if before is not None:
            page.set_viewport_size(before)


def scope_block(page: Page, scope: str = "tpe-lots") -> Locator:
    """The scope's situation block on a plate page."""
    return page.locator(f'.scope-state[data-scope="{scope}"]')


def expect_heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_contain_text(text)
