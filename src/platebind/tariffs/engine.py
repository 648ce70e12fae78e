"""The fee engine: ``compute_fee(tariff, tariff_class, entered_at, exited_at) -> Fee``. Pure.

Times are aware datetimes; day kinds, bands, cap days and entry periods are read on the Taipei
wall clock (``platebind.clock.TAIPEI``; Taipei has kept +08:00 all year since 1980, so wall
time and elapsed time agree). Amounts are exact (``Fraction``) until the stay's total, which is
rounded once, half up, to whole TWD. The rules, in order:

1. **Empty stay**: exit at the entry costs 0. An exit before the entry is refused.
2. **Free minutes** (``grace``): a stay of at most the grace (less than it, when the text says
   「未滿」) costs 0; a longer one is charged in full from the entry.
3. **Free parking** costs 0. **Per entry** (計次): the price of the entry's day kind; with a
   day boundary (「隔日另計，以凌晨2時為基準」), once more for every further period the stay
   reaches — a period starts at the boundary and is priced by the kind of the day it starts on,
   and an exit exactly at a boundary does not reach the next period.
4. **Hourly**: units are laid from the entry — the first ``first_unit_minutes`` long, then
   ``unit_minutes`` each — and every started unit is charged in full at the price per hour of
   the band where it starts (unit price = price per hour × unit minutes / 60, kept exact). With
   ``across_bands="split"`` (the default) a unit running into a band with another price ends at
   that edge and the next unit starts there, so each band's time is rounded up separately; the
   first unit is still the long one, even if the edge cuts it short. With ``unit_start`` units
   run on across edges. Midnight is an edge only where the price changes: a 22:00–08:00 night
   band at one price is one stretch although each day kind has its own bands. The day kind of a
   moment is that of its Taipei calendar day, so Friday 23:00–Saturday 01:00 is priced by
   Friday's bands until midnight and Saturday's (or a holiday's) after.
5. **Daily caps**: every unit belongs to the cap day in which it starts (cap days begin at the
   cap's reset time, 00:00 unless stated); a cap day's units cost at most the cap of that day's
   kind. Caps are whole TWD, so capping the exact sum and then rounding equals rounding first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise
from math import floor
from typing import Any, Literal

from platebind.clock import TAIPEI
from platebind.plates import TariffClass
from platebind.tariffs.days import DayKind, describe_span, format_clock
from platebind.tariffs.errors import StayInvalid, TariffInvalid
from platebind.tariffs.model import Band, Tariff, TariffBook

LineKind = Literal["empty", "grace", "free", "entry", "units", "cap"]
_ONE_DAY = timedelta(days=1)
_HALF = Fraction(1, 2)


@dataclass(frozen=True)
class FeeLine:
    """One item of the breakdown; ``amount`` is exact (a cap's line is negative)."""

    kind: LineKind
    description: str
    amount: Fraction = Fraction(0)
    day: date | None = None
    day_kind: DayKind | None = None
    band: str | None = None
    units: int | None = None
    unit_minutes: int | None = None
    unit_price: Fraction | None = None

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind, "description": self.description}
        doc["amount"] = format_money(self.amount)
        extras = {
            "day": None if self.day is None else self.day.isoformat(),
            "day_kind": None if self.day_kind is None else self.day_kind.value,
            "band": self.band,
            "units": self.units,
            "unit_minutes": self.unit_minutes,
            "unit_price": None if self.unit_price is None else format_money(self.unit_price),
        }
        doc.update({key: value for key, value in extras.items() if value is not None})
        return doc


@dataclass(frozen=True)
class Fee:
    amount: int
    exact: Fraction
    tariff_class: TariffClass
    entered_at: datetime
    exited_at: datetime
    lines: tuple[FeeLine, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "currency": "TWD",
            "exact": format_money(self.exact),
            "tariff_class": self.tariff_class.value,
            "entered_at": self.entered_at.astimezone(TAIPEI).isoformat(),
            "exited_at": self.exited_at.astimezone(TAIPEI).isoformat(),
            "breakdown": [line.as_dict() for line in self.lines],
        }


def format_money(value: Fraction) -> str:
    """Exact: ``"7.5"``, or ``"25/3"`` for an amount with no finite decimal form."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    scaled = value * 10**digits
    sign = "-" if scaled < 0 else ""
    text = str(abs(scaled.numerator)).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


def round_half_up(value: Fraction) -> int:
    return floor(value + _HALF)


def compute_fee(
    tariff: Tariff | TariffBook,
    tariff_class: TariffClass,
    entered_at: datetime,
    exited_at: datetime,
) -> Fee:
    """The fee of one stay, with an itemised breakdown (see the module's rules)."""
    entered, exited = _stay(entered_at, exited_at)
    chosen = _choose(tariff, tariff_class, entered)
    lines = _lines(chosen, entered, exited)
    exact = sum((line.amount for line in lines), Fraction(0))
    return Fee(round_half_up(exact), exact, tariff_class, entered_at, exited_at, tuple(lines))


def _stay(entered_at: datetime, exited_at: datetime) -> tuple[datetime, datetime]:
    for name, at in (("entered_at", entered_at), ("exited_at", exited_at)):
        if at.tzinfo is None or at.utcoffset() is None:
            raise StayInvalid(f"{name} {at.isoformat()} has no time zone")
    if exited_at < entered_at:
        raise StayInvalid(
            f"the exit {exited_at.isoformat()} is before the entry {entered_at.isoformat()}"
        )
    return entered_at.astimezone(TAIPEI), exited_at.astimezone(TAIPEI)


def _choose(tariff: Tariff | TariffBook, tariff_class: TariffClass, entered: datetime) -> Tariff:
    if isinstance(tariff, TariffBook):
        return tariff.in_force(tariff_class, entered)
    if tariff.tariff_class != tariff_class:
        raise TariffInvalid(
            f"this is a {tariff.tariff_class.value} tariff, not a {tariff_class.value} one"
        )
    return tariff


def _lines(tariff: Tariff, entered: datetime, exited: datetime) -> list[FeeLine]:
    stayed = exited - entered
    if not stayed:
        return [FeeLine("empty", "no time parked")]
    grace = tariff.grace
    if grace is not None:
        limit = timedelta(minutes=grace.minutes)
        if stayed < limit or (grace.inclusive and stayed == limit):
            bound = "at most" if grace.inclusive else "less than"
            return [FeeLine("grace", f"free: a stay of {bound} {grace.minutes} minutes")]
    if tariff.free:
        return [FeeLine("free", "free parking")]
    if tariff.per_entry is not None:
        return list(_entry_lines(tariff, entered, exited))
    return _hourly_lines(tariff, entered, exited)


# ---------------------------------------------------------------------------------------------
# Per entry


def _period_day(at: datetime, boundary: int) -> date:
    return (at - timedelta(minutes=boundary)).date()


def _entry_lines(tariff: Tariff, entered: datetime, exited: datetime) -> Iterator[FeeLine]:
    per_entry = tariff.per_entry
    assert per_entry is not None
    boundary = per_entry.day_boundary
    if boundary is None:
        kind, price = per_entry.price_on(entered.date())
        yield FeeLine("entry", f"per entry ({kind.value}): {price}", Fraction(price))
        return
    day = _period_day(entered, boundary)
    # The stay is [entered, exited): its last instant is just before the exit.
    last = _period_day(exited - timedelta(microseconds=1), boundary)
    while day <= last:
        kind, price = per_entry.price_on(day)
        description = f"per entry, period from {day} {format_clock(boundary)} ({kind.value})"
        yield FeeLine("entry", f"{description}: {price}", Fraction(price), day, kind)
        day += _ONE_DAY


# ---------------------------------------------------------------------------------------------
# Hourly


@dataclass(frozen=True)
class _Piece:
    """A stretch of the stay with one band, one calendar day and one cap day."""

    start: datetime
    end: datetime
    band: Band
    day: date
    kind: DayKind
    cap_day: date


def _pieces(tariff: Tariff, entered: datetime, exited: datetime) -> Iterator[_Piece]:
    assert tariff.hourly is not None
    reset = tariff.cap_resets_at
    day = entered.date()
    midnight = datetime.combine(day, time(), TAIPEI)
    while midnight < exited:
        kind, bands = tariff.hourly.bands_on(day)
        for band in bands:
            cuts = [band.start, band.end]
            if band.start < reset < band.end:
                cuts.insert(1, reset)
            for a, b in pairwise(cuts):
                start = max(entered, midnight + timedelta(minutes=a))
                end = min(exited, midnight + timedelta(minutes=b))
                if start < end:
                    cap_day = day if a >= reset else day - _ONE_DAY
                    yield _Piece(start, end, band, day, kind, cap_day)
        day += _ONE_DAY
        midnight = datetime.combine(day, time(), TAIPEI)


@dataclass
class _Count:
    """Units laid in one piece: ``first`` is 1 when the stay's first unit starts there."""

    piece: _Piece
    first: int
    units: int


def _count_units(tariff: Tariff, entered: datetime, exited: datetime) -> Iterator[_Count]:
    assert tariff.hourly is not None
    billing = tariff.hourly.billing
    first_len = timedelta(minutes=billing.first_unit_minutes)
    unit_len = timedelta(minutes=billing.unit_minutes)
    split = billing.across_bands == "split"
    next_start, first_pending, price = entered, True, None
    for piece in _pieces(tariff, entered, exited):
        if split and price is not None and piece.band.per_hour != price:
            # The running unit ends at the edge; the next one starts there.
            next_start = min(next_start, piece.start)
        price = piece.band.per_hour
        first = units = 0
        if first_pending and next_start < piece.end:
            first, first_pending = 1, False
            next_start += first_len
        if next_start < piece.end:
            units = -(-(piece.end - next_start) // unit_len)
            next_start += units * unit_len
        if first or units:
            yield _Count(piece, first, units)


@lru_cache(maxsize=1024)
def _unit_price(per_hour: Decimal, minutes: int) -> Fraction:
    return Fraction(per_hour) * minutes / 60


def _unit_line(count: _Count, first: bool, minutes: int) -> FeeLine:
    piece, band = count.piece, count.piece.band
    units = 1 if first else count.units
    unit_price = _unit_price(band.per_hour, minutes)
    span = describe_span(band.start, band.end)
    label = "first unit" if first else f"{units} unit{'s' if units > 1 else ''}"
    description = (
        f"{piece.day} ({piece.kind.value}) {span} at {band.per_hour}/h: "
        f"{label} of {minutes} min × {format_money(unit_price)}"
    )
    return FeeLine(
        "units", description, unit_price * units, piece.day, piece.kind, span, units, minutes,
        unit_price,
    )  # fmt: skip


def _cap_line(tariff: Tariff, cap_day: date, subtotal: Fraction) -> FeeLine | None:
    kind, cap = tariff.cap_on(cap_day)
    if cap is None or subtotal <= cap:
        return None
    start = format_clock(tariff.cap_resets_at)
    description = (
        f"daily cap {cap} for the day from {cap_day} {start} ({kind.value}): "
        f"{format_money(subtotal)} → {cap}"
    )
    return FeeLine("cap", description, Fraction(cap) - subtotal, cap_day, kind)


def _hourly_lines(tariff: Tariff, entered: datetime, exited: datetime) -> list[FeeLine]:
    assert tariff.hourly is not None
    billing = tariff.hourly.billing
    lines: list[FeeLine] = []
    cap_day: date | None = None
    subtotal = Fraction(0)
    for count in _count_units(tariff, entered, exited):
        if count.piece.cap_day != cap_day:
            if cap_day is not None and (capped := _cap_line(tariff, cap_day, subtotal)):
                lines.append(capped)
            cap_day, subtotal = count.piece.cap_day, Fraction(0)
        if billing.first_unit_minutes == billing.unit_minutes:
            # A first unit like the others needs no line of its own.
            count.units, count.first = count.units + count.first, 0
        if count.first:
            lines.append(_unit_line(count, True, billing.first_unit_minutes))
            subtotal += lines[-1].amount
        if count.units:
            lines.append(_unit_line(count, False, billing.unit_minutes))
            subtotal += lines[-1].amount
    if cap_day is not None and (capped := _cap_line(tariff, cap_day, subtotal)):
        lines.append(capped)
    return lines
