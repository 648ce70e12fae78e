"""The zh-TW catalogue covers every message of the portal, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from platebind.portal.i18n import catalogue_path, taipei_time, translations
from tests.registry.test_cutover import tpe

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "src" / "platebind" / "portal"
# The same extraction as `make i18n` (babel.cfg).
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "translate": (2,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PORTAL, METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_portal_message_has_a_zh_tw_translation_with_the_same_placeholders() -> None:
    with catalogue_path("zh_TW").open("rb") as po:
        catalogue = read_po(po, locale="zh_TW")
    translated = {m.id: m.string for m in catalogue if m.id}
    messages = extracted_messages()
    assert len(messages) > 80
    missing = sorted(m for m in messages if not translated.get(m))
    assert missing == [], "run `make i18n` and translate these"
    obsolete = sorted(set(translated) - messages)
    assert obsolete == [], "messages no longer used by the portal"
    for msgid in messages:
        msgstr = translated[msgid]
        assert isinstance(msgstr, str)
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_english_is_the_message_itself_and_zh_tw_is_translated() -> None:
    assert translations("en").gettext("My bills") == "My bills"
    assert translations("zh_TW").gettext("My bills") == "我的帳單"
    assert translations("zh_TW").gettext("Add a plate") == "新增綁定"


def test_times_are_shown_in_taipei_with_the_weekday_in_the_reader_language() -> None:
    at = tpe("2026-11-28 04:00")
    assert taipei_time(at, "zh_TW") == "2026-11-28 (週六) 04:00"
    assert taipei_time(at, "en") == "2026-11-28 (Sat) 04:00"
