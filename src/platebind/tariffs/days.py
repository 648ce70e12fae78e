"""Day kinds and clock times: the calendar vocabulary of tariffs (Asia/Taipei wall clock).

A tariff prices a day by its *kind*: the day of the week, or ``holiday`` for a Taiwanese public
holiday (``holidays.country_holidays("TW")``: the days government offices close, observed and
substituted days included — the 「行政機關放假之紀念日與民俗日」 the lots' texts name). A
holiday wins over its weekday. A make-up working Saturday (補行上班日) stays a Saturday: the
lots' texts price by the name of the day (「週六」), not by whether offices are open.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import lru_cache

from platebind.clock import is_taiwan_holiday

MINUTES_PER_DAY = 24 * 60


class DayKind(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"
    HOLIDAY = "holiday"


DAY_ORDER: tuple[DayKind, ...] = tuple(DayKind)
ALL_DAYS: frozenset[DayKind] = frozenset(DayKind)
WEEKDAYS: frozenset[DayKind] = frozenset(DAY_ORDER[:5])
# 「假日」: the weekend and public holidays.
DAYS_OFF: frozenset[DayKind] = frozenset({DayKind.SAT, DayKind.SUN, DayKind.HOLIDAY})
_BY_WEEKDAY = DAY_ORDER[:7]


@lru_cache(maxsize=4096)
def day_kind(day: date) -> DayKind:
    """The kind of a Taipei calendar day: a public holiday, else its day of the week."""
    if is_taiwan_holiday(day):
        return DayKind.HOLIDAY
    return _BY_WEEKDAY[day.weekday()]


def describe_days(days: frozenset[DayKind]) -> str:
    """``mon–fri``, ``sat, sun, holiday``: three or more consecutive weekdays become a range;
    ``holiday`` is always named on its own."""
    runs: list[list[DayKind]] = []
    for kind in (d for d in DAY_ORDER[:7] if d in days):
        if runs and DAY_ORDER.index(kind) == DAY_ORDER.index(runs[-1][-1]) + 1:
            runs[-1].append(kind)
        else:
            runs.append([kind])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{run[0].value}–{run[-1].value}")
        else:
            parts.extend(kind.value for kind in run)
    if DayKind.HOLIDAY in days:
        parts.append(DayKind.HOLIDAY.value)
    return ", ".join(parts)


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def parse_clock(text: str) -> int:
    """``"07:30"`` → 450 minutes after midnight; ``"24:00"`` is the end of the day."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    total = hours * 60 + minutes
    if minutes >= 60 or total > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return total


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe_span(start: int, end: int) -> str:
    return f"{format_clock(start)}–{format_clock(end)}"
