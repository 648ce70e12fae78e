"""Time: an injectable clock, Asia/Taipei wall-clock helpers and the Taiwan business-day calendar.

Rules never call ``datetime.now()``; they get a :class:`Clock`. Everything stored is UTC; Taipei
time is only for cut-overs and for showing times to people.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

TAIPEI = ZoneInfo("Asia/Taipei")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests, ``--at`` and the demo world."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = ensure_aware(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def ensure_aware(at: datetime) -> datetime:
    """Reject naive datetimes: a time without a zone is a bug waiting for a server move."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone")
    return at.astimezone(UTC)


def parse_at(text: str) -> datetime:
    """Parse ISO-8601 from a person or script; a time without offset is Taipei time."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO-8601 time, e.g. 2026-11-28T04:00+08:00") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TAIPEI)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 in Taipei is a year before the first one in UTC
        raise ValueError(f"{text!r} is out of range") from None


def taipei(at: datetime) -> datetime:
    return at.astimezone(TAIPEI)


def taipei_iso(at: datetime | None) -> str | None:
    """ISO-8601 in Taipei time with its offset, the form every answer uses."""
    return None if at is None else at.astimezone(TAIPEI).isoformat()


@lru_cache(maxsize=64)
def _taiwan_calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("TW", years=year)


def is_taiwan_holiday(day: date) -> bool:
    """A public holiday in Taiwan (the days government offices close, observed days too)."""
    return day in _taiwan_calendar(day.year)


class BusinessCalendar:
    """Taiwan's working days (make-up Saturdays included) minus authority-declared closed days."""

    def __init__(self, closed_days: Iterable[date] = ()) -> None:
        self.closed_days = frozenset(closed_days)

    def is_business_day(self, day: date) -> bool:
        if day in self.closed_days:
            return False
        return bool(_taiwan_calendar(day.year).is_working_day(day))


def days_from(start: date) -> Iterable[date]:
    day = start
    while True:
        yield day
        day += timedelta(days=1)
