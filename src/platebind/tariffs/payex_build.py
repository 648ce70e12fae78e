"""From a :class:`ClassDraft` to a :class:`Tariff`, or to the problems that prevent one.

Nothing is filled in: a day or an hour the text gives no price for, a missing billing unit, two
prices for the same hour, are problems (the tariff is partial), never zeros or defaults. The
only gap that is filled is the one the text fills itself: 「其餘時段不收費」 (the rest is free).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from pydantic import ValidationError

from platebind.plates import TariffClass
from platebind.tariffs.days import ALL_DAYS, MINUTES_PER_DAY, DayKind, describe_days, describe_span
from platebind.tariffs.model import (
    Band,
    Billing,
    DailyCap,
    EntryRate,
    Grace,
    Hourly,
    PerEntry,
    Rate,
    Tariff,
)
from platebind.tariffs.payex_draft import ClassDraft, Item

Segment = tuple[int, int, Decimal]


def _segments(item: Item) -> list[Segment]:
    start, end = item.band if item.band is not None else (0, MINUTES_PER_DAY)
    if end > start:
        return [(start, end, item.price)]
    return [(start, MINUTES_PER_DAY, item.price), (0, end, item.price)]


class _Problems:
    """Problems of the same wording for several day kinds are reported once."""

    def __init__(self) -> None:
        self.by_message: dict[str, set[DayKind]] = defaultdict(set)
        self.plain: list[str] = []

    def add(self, template: str, kind: DayKind) -> None:
        self.by_message[template].add(kind)

    def messages(self) -> list[str]:
        grouped = [t.format(days=describe_days(frozenset(k))) for t, k in self.by_message.items()]
        return self.plain + grouped


def _day_bands(
    segments: list[Segment], rest_free: bool, kind: DayKind, out: _Problems
) -> tuple[Band, ...]:
    """One day kind's bands, merged where the price does not change."""
    bands: list[Segment] = []
    reached = 0
    for start, end, price in sorted(segments) + [(MINUTES_PER_DAY, MINUTES_PER_DAY, Decimal(0))]:
        if start > reached:
            if rest_free:
                bands.append((reached, start, Decimal(0)))
            else:
                out.add(f"no price for {{days}} {describe_span(reached, start)}", kind)
        elif start < reached and bands:
            # Even at the same price: two phrases for one hour mean the reading is not sure
            # which days or hours each is for (「平日100元/時，假日50元/時，夜間(22-06)50元/時」).
            span = describe_span(start, min(end, reached))
            out.add(f"two prices for {{days}} {span}: {bands[-1][2]} and {price}", kind)
        if end > reached:
            bands.append((max(start, reached), end, price))
            reached = end
    merged: list[Segment] = []
    for start, end, price in bands:
        if merged and merged[-1][2] == price and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, price)
        else:
            merged.append((start, end, price))
    return tuple(Band(start=s, end=e, per_hour=p) for s, e, p in merged if e > s)


def hourly_rates(items: list[Item], rest_free: bool, out: _Problems) -> tuple[Rate, ...]:
    per_day: dict[DayKind, list[Segment]] = defaultdict(list)
    for item in items:
        for kind in item.days if item.days is not None else ALL_DAYS:
            per_day[kind].extend(_segments(item))
    missing = ALL_DAYS - set(per_day) - {DayKind.HOLIDAY}
    if missing:
        out.plain.append(f"no price for {describe_days(frozenset(missing))}")
    by_bands: dict[tuple[Band, ...], set[DayKind]] = defaultdict(set)
    for kind, segments in per_day.items():
        by_bands[_day_bands(segments, rest_free, kind, out)].add(kind)
    if out.messages():
        return ()
    return tuple(Rate(days=frozenset(k), bands=b) for b, k in by_bands.items())


def _billing(draft: ClassDraft, out: _Problems) -> Billing | None:
    if not draft.billing:
        out.plain.append("no billing unit (e.g. 全程以半小時計) is stated")
        return None
    if len(draft.billing) > 1:
        out.plain.append("two different billing units are stated")
        return None
    first, unit = draft.billing[0]
    across = "unit_start" if draft.across_previous else "split"
    return Billing(unit_minutes=unit, first_unit_minutes=first, across_bands=across)


def _per_entry(items: list[Item], boundary: int | None, out: _Problems) -> PerEntry | None:
    prices: dict[DayKind, Decimal] = {}
    for item in items:
        if item.band is not None:
            out.plain.append(f"a per-entry price for {describe_span(*item.band)} only")
            return None
        for kind in item.days if item.days is not None else ALL_DAYS:
            if prices.setdefault(kind, item.price) != item.price:
                out.add(f"two entry prices for {{days}}: {prices[kind]} and {item.price}", kind)
    missing = ALL_DAYS - set(prices) - {DayKind.HOLIDAY}
    if missing:
        out.plain.append(f"no entry price for {describe_days(frozenset(missing))}")
    by_price: dict[Decimal, set[DayKind]] = defaultdict(set)
    for kind, price in prices.items():
        by_price[price].add(kind)
    rates = tuple(EntryRate(days=frozenset(k), price=int(p)) for p, k in by_price.items())
    return PerEntry(rates=rates, day_boundary=boundary)


def _caps(draft: ClassDraft) -> tuple[DailyCap, ...]:
    return tuple(
        DailyCap(amount=c.amount, days=c.days or ALL_DAYS, resets_at=c.resets_at)
        for c in draft.caps
    )


def _grace(draft: ClassDraft, out: _Problems) -> Grace | None:
    if len(draft.grace) > 1:
        out.plain.append("two different free-minute rules are stated")
    if not draft.grace:
        return None
    minutes, inclusive = draft.grace[0]
    if not 1 <= minutes <= MINUTES_PER_DAY:  # 「0分鐘內免費」 is no grace period at all
        out.plain.append(f"{minutes} free minutes is not a grace period (1 to {MINUTES_PER_DAY})")
        return None
    return Grace(minutes=minutes, inclusive=inclusive)


def _kind_problems(draft: ClassDraft, hourly: list[Item], entry: list[Item]) -> list[str]:
    kinds = [name for name, present in (("hourly", hourly), ("per-entry", entry)) if present]
    kinds += ["free"] if draft.free else []
    if len(kinds) > 1:
        return [f"both {' and '.join(kinds)} prices are stated"]
    if draft.caps and not hourly:
        return ["a daily cap without hourly prices"]
    return []


def build_tariff(tariff_class: TariffClass, draft: ClassDraft) -> tuple[Tariff | None, list[str]]:
    """The tariff the draft describes, or None and why not."""
    hourly = [i for i in draft.items if i.unit == "hour"]
    entry = [i for i in draft.items if i.unit == "entry"]
    problems = list(draft.problems) + _kind_problems(draft, hourly, entry)
    if problems or not draft.has_fare:
        return None, problems
    out = _Problems()
    fields: dict[str, object] = {"tariff_class": tariff_class, "grace": _grace(draft, out)}
    try:
        if hourly:
            rates = hourly_rates(hourly, draft.rest_free, out)
            billing = _billing(draft, out)
            if billing is not None and not out.messages():
                fields |= {"hourly": Hourly(rates=rates, billing=billing), "caps": _caps(draft)}
        elif entry:
            fields["per_entry"] = _per_entry(entry, draft.entry_boundary, out)
        else:
            fields["free"] = True
        if out.messages():
            return None, out.messages()
        return Tariff.model_validate(fields), []
    except ValidationError as exc:
        return None, [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()]
