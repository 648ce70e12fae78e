"""Languages: zh-TW by default, English on request. Message catalogues are Babel ``.po`` files
under ``locale/`` (msgids are the English text), read and compiled in memory at first use, so
there is no build step and no compiled ``.mo`` in the tree."""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from platebind.clock import taipei

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_TW"
LOCALES = ("zh_TW", "en")
# What the <html lang> attribute and the switch say.
HTML_LANG = {"zh_TW": "zh-Hant-TW", "en": "en"}
CATALOGUE_DOMAIN = "messages"


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{CATALOGUE_DOMAIN}.po"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``locale``; English is the msgids themselves."""
    if locale not in LOCALES or locale == "en":
        return gettext.NullTranslations()
    with catalogue_path(locale).open("rb") as po:
        catalogue = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(fp=compiled, domain=CATALOGUE_DOMAIN)


def pick_locale(*candidates: str | None) -> str:
    """The first supported candidate (member setting, cookie, ...), else zh-TW."""
    return next((c for c in candidates if c in LOCALES), DEFAULT_LOCALE)


def taipei_time(at: datetime | None, locale: str) -> str:
    """``2026-11-28 (六) 04:00``: the date, weekday and minute in Taipei, as drivers read it."""
    if at is None:
        return ""
    local = taipei(at)
    weekday = format_date(local.date(), "EEE", locale="zh_Hant_TW" if locale != "en" else "en")
    return f"{local:%Y-%m-%d} ({weekday}) {local:%H:%M}"
