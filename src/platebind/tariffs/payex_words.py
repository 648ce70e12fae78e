"""The meaning of the day expressions and time bands of the tariff texts."""

from __future__ import annotations

import re

from platebind.tariffs.days import (
    DAY_ORDER,
    DAYS_OFF,
    MINUTES_PER_DAY,
    WEEKDAYS,
    DayKind,
)
from platebind.tariffs.payex_lexer import CLASSES, DAY_TERM, PERIODIC

_TERM = re.compile(rf"{DAY_TERM}|日")
_WEEKDAY_CHARS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RANGE = re.compile(r"(?:週|星期)(.)(?:\s*[至~\-]\s*(?:週|星期)?(.))?")
_HOLIDAY_WORDS = ("行政機關放假", "國定")


def _week_span(first: str, last: str | None) -> frozenset[DayKind]:
    start = _WEEKDAY_CHARS[first]
    end = start if last is None else _WEEKDAY_CHARS[last]
    # 「週日至週四」 wraps around the end of the week.
    count = (end - start) % 7 + 1
    return frozenset(DAY_ORDER[(start + i) % 7] for i in range(count))


def _term_days(term: str) -> frozenset[DayKind]:
    if term.endswith("六日"):  # 「週六日」: Saturday and Sunday
        return frozenset({DayKind.SAT, DayKind.SUN})
    week = _RANGE.fullmatch(term)
    if week:
        return _week_span(week[1], week[2])
    if any(word in term for word in _HOLIDAY_WORDS):
        return frozenset({DayKind.HOLIDAY})
    if term in ("平日", "平常日"):
        return WEEKDAYS
    if term in ("假日", "例假日"):
        return DAYS_OFF
    if term == "日":
        return frozenset({DayKind.SUN})
    raise ValueError(f"{term!r} is not a day expression")


def parse_days(text: str) -> frozenset[DayKind]:
    """「週六、週日、行政機關放假之紀念日與民俗日」 → sat, sun, holiday."""
    days: frozenset[DayKind] = frozenset()
    for term in _TERM.finditer(text):
        days |= _term_days(term[0])
    if not days:
        raise ValueError(f"{text!r} names no days")
    return days


_TIME = re.compile(r"(?:翌日|隔日|凌晨)?\s*(?:(\d{2})(\d{2})|(\d{1,2})(?::(\d{2}))?)\s*(?:時|點)?")


def parse_time(text: str) -> int:
    """Minutes after midnight: 「0730」, 「7:30」, 「翌日08」, 「24時」 (= 1440)."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day")
    hours = int(match[1] or match[3])
    minutes = int(match[2] or match[4] or 0)
    if minutes >= 60 or hours * 60 + minutes > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


def parse_band(start_text: str, end_text: str) -> tuple[int, int]:
    """``(start, end)`` in minutes; ``end < start`` for a band that runs past midnight;
    24 starts a band at midnight and 0 ends one there."""
    start = parse_time(start_text) % MINUTES_PER_DAY
    end = parse_time(end_text) or MINUTES_PER_DAY
    if start == end:
        raise ValueError(f"{start_text}-{end_text} is an empty band")
    return start, end


# Words that make a phrase about what one stay costs (not about monthly passes).
_PER_STAY = re.compile(
    r"計時|計次|臨停|臨時|/\s*時|/\s*次|每次|小時|分鐘|免費|不收|免收|最高|上限|隔日|加收|費率|元/日"
)


def about_a_stay(phrase: str) -> bool:
    return _PER_STAY.search(phrase) is not None


_PERIODIC = re.compile(PERIODIC)


def about_passes_only(phrase: str) -> bool:
    """A phrase about monthly (or quarterly, yearly) passes and nothing about a stay."""
    return _PERIODIC.search(phrase) is not None and not about_a_stay(phrase)


_CLASS_WORDS = tuple((re.compile(pattern), name) for pattern, name in CLASSES)


def classes_named(phrase: str) -> set[str]:
    """The class names a phrase mentions (``car+heavy`` etc. as in the lexer)."""
    found: set[str] = set()
    rest = phrase
    for pattern, name in _CLASS_WORDS:
        if pattern.search(rest):
            found.add(name)
            rest = pattern.sub("", rest)  # 大型重型機車 is not also a 機車
    return found
