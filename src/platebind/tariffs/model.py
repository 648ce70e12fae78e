"""The tariff model: what a lot charges one tariff class, in the spirit of OCPI tariffs.

Not a table: a tariff is a validated, immutable document, stored as JSON wherever it is kept
(``Tariff.model_dump_json`` / :func:`tariff_from_json` round-trip). A tariff is exactly one of

- **hourly**: prices per hour by day kind (``mon`` … ``sun``, ``holiday``) and time-of-day band,
  each day kind's bands covering 00:00–24:00 without gap or overlap, and a billing unit;
- **per entry** (計次): a price per entry, per day period when the text says 「隔日另計」;
- **free** (免費停車).

Any of them may have free minutes (a grace period), and an hourly tariff daily caps. A
:class:`TariffBook` holds the versions of a lot's tariffs (one per tariff class and
``valid_from``). The fee rules are in :mod:`platebind.tariffs.engine`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from platebind.plates import TariffClass
from platebind.tariffs.days import (
    ALL_DAYS,
    DAY_ORDER,
    MINUTES_PER_DAY,
    DayKind,
    day_kind,
    describe_days,
    describe_span,
    format_clock,
    parse_clock,
)
from platebind.tariffs.errors import TariffInvalid, TariffNotInForce


def _clock_in(value: Any) -> Any:
    return parse_clock(value) if isinstance(value, str) else value


def _days_out(days: frozenset[DayKind]) -> list[str]:
    return [d.value for d in DAY_ORDER if d in days]


# Minutes after midnight, written "HH:MM" in JSON ("24:00" = the end of the day).
ClockTime = Annotated[
    int,
    BeforeValidator(_clock_in),
    Field(ge=0, le=MINUTES_PER_DAY),
    PlainSerializer(format_clock, return_type=str),
]
Days = Annotated[
    frozenset[DayKind], Field(min_length=1), PlainSerializer(_days_out, return_type=list[str])
]
Price = Annotated[Decimal, Field(ge=0, max_digits=9, decimal_places=2)]
Amount = Annotated[int, Field(ge=0)]


def kind_of(day: date, priced: Mapping[DayKind, object]) -> DayKind:
    """The day kind a tariff prices ``day`` by: a holiday counts as its weekday when the tariff
    has no holiday prices."""
    kind = day_kind(day)
    if kind is DayKind.HOLIDAY and kind not in priced:
        return DAY_ORDER[day.weekday()]
    return kind


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Band(_Document):
    """A time-of-day band of one day kind and its price per hour (0 = free in that band)."""

    start: ClockTime
    end: ClockTime
    per_hour: Price

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.start >= self.end:
            raise ValueError(
                f"a band runs forwards within one day: {format_clock(self.start)} is not "
                f"before {format_clock(self.end)} (split a night band at 24:00)"
            )
        return self


def _check_cover(bands: tuple[Band, ...], days: frozenset[DayKind]) -> tuple[Band, ...]:
    ordered = tuple(sorted(bands, key=lambda b: b.start))
    reached = 0
    for band in ordered:
        if band.start > reached:
            raise ValueError(
                f"the bands for {describe_days(days)} leave "
                f"{describe_span(reached, band.start)} unpriced"
            )
        if band.start < reached:
            raise ValueError(
                f"the bands for {describe_days(days)} overlap at "
                f"{describe_span(band.start, min(reached, band.end))}"
            )
        reached = band.end
    if reached < MINUTES_PER_DAY:
        raise ValueError(
            f"the bands for {describe_days(days)} leave "
            f"{describe_span(reached, MINUTES_PER_DAY)} unpriced"
        )
    return ordered


def _check_disjoint(days_sets: list[frozenset[DayKind]], what: str) -> frozenset[DayKind]:
    """No day kind in two of ``days_sets``; their union."""
    seen: frozenset[DayKind] = frozenset()
    for days in days_sets:
        twice = seen & days
        if twice:
            raise ValueError(f"{describe_days(twice)} have two {what}")
        seen |= days
    return seen


def _check_partition(days_sets: list[frozenset[DayKind]], what: str) -> None:
    """Each day kind in exactly one of ``days_sets``; ``holiday`` may be left out, then a
    holiday is priced as the day of the week it falls on."""
    missing = ALL_DAYS - _check_disjoint(days_sets, what) - {DayKind.HOLIDAY}
    if missing:
        raise ValueError(f"no {what} for {describe_days(frozenset(missing))}")


class Rate(_Document):
    """The bands of the day kinds that share them; together they cover 00:00–24:00."""

    days: Days
    bands: tuple[Band, ...]

    @field_validator("bands")
    @classmethod
    def _covering(cls, bands: tuple[Band, ...], info: ValidationInfo) -> tuple[Band, ...]:
        days = info.data.get("days")
        if days is None:  # already refused; its error is reported
            return bands
        return _check_cover(bands, days)


class Billing(_Document):
    """The billing unit: every started unit is charged in full.

    「全程以半小時計」 is ``unit_minutes=30``; 「未滿1小時以1小時計，逾1小時以上者，未滿半小時以
    半小時計」 adds ``first_unit_minutes=60``. ``across_bands`` says what happens at a band
    edge: ``split`` (the default, DESIGN.md) ends the running unit there and starts a new one,
    ``unit_start`` lets units run on, each at the price where it starts (「跨越不同費率時段，
    則該跨越時段之費率以前一時段費率標準計算」).
    """

    unit_minutes: int = Field(ge=1, le=MINUTES_PER_DAY)
    first_unit_minutes: int = Field(ge=1, le=MINUTES_PER_DAY)
    across_bands: Literal["split", "unit_start"] = "split"


class Hourly(_Document):
    rates: tuple[Rate, ...]
    billing: Billing

    @model_validator(mode="after")
    def _every_day_once(self) -> Hourly:
        _check_partition([r.days for r in self.rates], "hourly prices")
        return self

    @cached_property
    def bands_by_day(self) -> dict[DayKind, tuple[Band, ...]]:
        return {day: rate.bands for rate in self.rates for day in rate.days}

    def bands_on(self, day: date) -> tuple[DayKind, tuple[Band, ...]]:
        kind = kind_of(day, self.bands_by_day)
        return kind, self.bands_by_day[kind]


class EntryRate(_Document):
    days: Days
    price: Amount


class PerEntry(_Document):
    """計次: ``price`` per entry; with ``day_boundary`` once more for every further day period
    the stay reaches (「隔日另計，以凌晨2時為基準」 is ``day_boundary="02:00"``)."""

    rates: tuple[EntryRate, ...]
    day_boundary: ClockTime | None = None

    @model_validator(mode="after")
    def _every_day_once(self) -> PerEntry:
        _check_partition([r.days for r in self.rates], "entry prices")
        if self.day_boundary == MINUTES_PER_DAY:
            raise ValueError("the day boundary is a time from 00:00 to 23:59")
        return self

    @cached_property
    def price_by_day(self) -> dict[DayKind, int]:
        return {day: rate.price for rate in self.rates for day in rate.days}

    def price_on(self, day: date) -> tuple[DayKind, int]:
        kind = kind_of(day, self.price_by_day)
        return kind, self.price_by_day[kind]


class Grace(_Document):
    """Free minutes: a stay of at most ``minutes`` (less than, when not ``inclusive``) is free;
    a longer one is charged from the entry (「停車30分鐘內免費」, 「進場未滿30分鐘離場不收費」)."""

    minutes: int = Field(ge=1, le=MINUTES_PER_DAY)
    inclusive: bool = True


class DailyCap(_Document):
    """當日最高: at most ``amount`` per cap day of the given kinds; cap days start at
    ``resets_at`` (00:00 unless the text names another hour)."""

    amount: Amount
    days: Days = ALL_DAYS
    resets_at: ClockTime = 0

    @field_validator("resets_at")
    @classmethod
    def _within_day(cls, value: int) -> int:
        if value >= MINUTES_PER_DAY:
            raise ValueError("a cap resets at a time from 00:00 to 23:59")
        return value


def _check_caps(tariff: Tariff) -> None:
    if tariff.caps and tariff.hourly is None:
        raise ValueError("daily caps need hourly prices")
    _check_disjoint([cap.days for cap in tariff.caps], "caps")
    if len({cap.resets_at for cap in tariff.caps}) > 1:
        raise ValueError("all daily caps of a tariff reset at the same time")


class Tariff(_Document):
    """What one tariff class pays at one lot from ``valid_from`` (``None``: always)."""

    tariff_class: TariffClass
    valid_from: datetime | None = None
    hourly: Hourly | None = None
    per_entry: PerEntry | None = None
    free: bool = False
    grace: Grace | None = None
    caps: tuple[DailyCap, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> Tariff:
        kinds = [k for k, v in (("hourly", self.hourly), ("per_entry", self.per_entry)) if v]
        kinds += ["free"] if self.free else []
        if len(kinds) != 1:
            raise ValueError(
                "a tariff is exactly one of hourly, per_entry or free; "
                f"this one is {' and '.join(kinds) or 'none of them'}"
            )
        _check_caps(self)
        if self.valid_from is not None and self.valid_from.utcoffset() is None:
            raise ValueError("valid_from needs a time zone")
        return self

    @cached_property
    def cap_by_day(self) -> dict[DayKind, int]:
        return {day: cap.amount for cap in self.caps for day in cap.days}

    def cap_on(self, day: date) -> tuple[DayKind, int | None]:
        """The kind of the cap day starting on ``day`` (as the prices see it) and its cap."""
        priced: Mapping[DayKind, object] = self.hourly.bands_by_day if self.hourly else {}
        kind = kind_of(day, priced)
        return kind, self.cap_by_day.get(kind)

    @cached_property
    def cap_resets_at(self) -> int:
        """All caps reset at one time (a second one is refused when the tariff is read)."""
        return self.caps[0].resets_at if self.caps else 0


class TariffBook(_Document):
    """The versions of a lot's tariffs: per tariff class, the latest ``valid_from`` at or
    before the entry applies."""

    version: Literal[1] = 1
    tariffs: tuple[Tariff, ...] = ()

    @model_validator(mode="after")
    def _unique_versions(self) -> TariffBook:
        keys = [(t.tariff_class, t.valid_from) for t in self.tariffs]
        if len(set(keys)) != len(keys):
            raise ValueError("two tariffs for the same tariff class and valid_from")
        return self

    def in_force(self, tariff_class: TariffClass, at: datetime) -> Tariff:
        candidates = [
            t
            for t in self.tariffs
            if t.tariff_class == tariff_class and (t.valid_from is None or t.valid_from <= at)
        ]
        if not candidates:
            raise TariffNotInForce(f"no {tariff_class.value} tariff is in force at {at}")
        return max(candidates, key=lambda t: (t.valid_from is not None, t.valid_from))


def _problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def tariff_from_json(document: str | bytes | dict[str, Any]) -> Tariff:
    """A tariff from its JSON text or parsed document; a bad one is a :class:`TariffInvalid`."""
    try:
        if isinstance(document, dict):
            return Tariff.model_validate(document)
        return Tariff.model_validate_json(document)
    except ValidationError as exc:
        raise TariffInvalid(f"invalid tariff: {_problem(exc)}") from exc


def book_from_json(document: str | bytes | dict[str, Any]) -> TariffBook:
    try:
        if isinstance(document, dict):
            return TariffBook.model_validate(document)
        return TariffBook.model_validate_json(document)
    except ValidationError as exc:
        raise TariffInvalid(f"invalid tariff book: {_problem(exc)}") from exc


def tariff_to_json(tariff: Tariff) -> dict[str, Any]:
    """The JSON document (defaults included, so a reader sees every rule)."""
    return tariff.model_dump(mode="json")
