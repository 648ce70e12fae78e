"""Who and what the demo world holds: its scopes, its agents (real providers' names), market
shares, and the plates of its drivers in the formats seen on Taipei streets."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from platebind.plates import canonical_plate
from platebind.registry import scopes
from platebind.registry.agents import AgentProfile
from platebind.registry.audit import Actor
from platebind.registry.rules import CutoverPolicy

DAYS = 30
PLATE_COUNT = 250
ROADSIDE_SHARE = 0.35  # plates also bound for roadside bills
SAME_AGENT_BOTH_SCOPES = 0.7  # most drivers use one app for both
DEMO_ADMIN = Actor("admin", "demo")
OWNER = Actor("citizen", "demo-owner")
SUSPENDED_AGENT = "easywallet"
CUTOVER, LEAD_HOURS = "04:00", 1.0
LOTS_POLICY = CutoverPolicy(
    cutover_minute=scopes.parse_cutover(CUTOVER), lead=timedelta(hours=LEAD_HOURS)
)


@dataclass(frozen=True)
class ScopeSpec:
    id: str
    name: str
    name_en: str
    kind: str
    business_days_only: bool


SCOPES = (
    ScopeSpec(
        "tpe-lots",
        "臺北市公有停車場",
        "Taipei public parking lots",
        "lots",
        business_days_only=False,
    ),
    ScopeSpec(
        "tpe-roadside",
        "臺北市路邊停車",
        "Taipei roadside parking",
        "roadside",
        business_days_only=True,
    ),
)

# Demo data: names and web sites are the real providers'; phone numbers and page paths are
# placeholders, not their actual support lines.
AGENTS: tuple[tuple[str, str, AgentProfile], ...] = (
    ("cmj", "車麻吉", AgentProfile(
        name_en="CarMaji", support_phone="02-2700-1234", support_url="https://www.carmaji.com.tw/",
        unbind_instructions="開啟車麻吉 App →「我的」→「愛車管理」→ 選擇車牌 →「停車代繳」→"
        "「取消代繳」。取消後於下一個換日時點（每日 04:00）生效。",
        unbind_url="https://www.carmaji.com.tw/faq/parking-unbind",
    )),
    ("pi", "Pi 拍錢包", AgentProfile(
        name_en="Pi Wallet", support_phone="02-6600-1234", support_url="https://www.piapp.com.tw/",
        unbind_instructions="開啟 Pi 拍錢包 →「生活繳費」→「停車費自動代繳」→ 點選車牌 →"
        "「解除綁定」。",
        unbind_url="https://www.piapp.com.tw/faq/parking",
    )),
    ("jkopay", "街口支付", AgentProfile(
        name_en="JKOPAY", support_phone="02-6636-1234", support_url="https://www.jkopay.com/",
        unbind_instructions="開啟街口支付 →「繳費」→「停車費」→「自動代繳設定」→ 選擇車牌 →"
        "「解除代繳」。",
        unbind_url="https://www.jkopay.com/faq/parking",
    )),
    ("easywallet", "悠遊付", AgentProfile(
        name_en="Easy Wallet", support_phone="02-2658-1234",
        support_url="https://easywallet.easycard.com.tw/",
        unbind_instructions="開啟悠遊付 →「生活」→「停車費代扣」→ 選擇車牌 →「取消綁定」。",
        unbind_url="https://easywallet.easycard.com.tw/faq/parking",
    )),
)  # fmt: skip
AGENT_IDS = tuple(agent_id for agent_id, _, _ in AGENTS)
MARKET_SHARE = (0.3, 0.25, 0.3, 0.15)

# --- plates ---------------------------------------------------------------------------------

_NEW_SERIES_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # the 2012 series never uses I or O
_ALL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letters(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _random_plate(rng: random.Random) -> tuple[str, str]:
    """(vehicle type, plate) in the mix of formats seen on Taipei streets."""
    roll = rng.random()
    four, three = f"{rng.randint(1, 9999):04d}", f"{rng.randint(1, 999):03d}"
    if roll < 0.55:
        return "car", f"{_letters(rng, _NEW_SERIES_LETTERS, 3)}-{four}"
    if roll < 0.62:
        return "car", f"{_letters(rng, _ALL_LETTERS, 2)}-{four}"
    if roll < 0.65:
        return "car", f"{four}-{_letters(rng, _ALL_LETTERS, 2)}"
    if roll < 0.85:
        return "motorcycle", f"{_letters(rng, _NEW_SERIES_LETTERS, 3)}-{four}"
    if roll < 0.93:
        return "motorcycle", f"{_letters(rng, _ALL_LETTERS, 3)}-{three}"
    return "motorcycle", f"{three}-{_letters(rng, _ALL_LETTERS, 3)}"


def demo_plates(rng: random.Random, count: int = PLATE_COUNT) -> list[tuple[str, str]]:
    plates: dict[tuple[str, str], None] = {}
    while len(plates) < count:
        vehicle_type, raw = _random_plate(rng)
        plates[(vehicle_type, canonical_plate(raw, vehicle_type))] = None
    return list(plates)
