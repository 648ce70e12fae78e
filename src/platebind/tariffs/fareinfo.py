"""The feed's structured fares (``FareInfo``): read, checked against the text, used as a fallback.

Two shapes occur (shared/data/taipei/README.md):

- ``{"WorkingDay": [{"Period": "09~18", "Fare": "30"}], "Holiday": [...]}``: car prices per
  hour; ``WorkingDay`` is Monday to Friday, ``Holiday`` the weekend and public holidays;
- ``{"FareRule": [{"ParkingType": "C", "RateType": "1", "ChargeableSTime": "0800",
  "ChargeableETime": "2200", "ParkingRates": "60", "CUnit": ""}]}``: one price per rule, every
  day. Only what is unambiguous is used: ``RateType`` 1 (per hour) with no ``CUnit``, for
  ``ParkingType`` C (car), CM (car and heavy motorcycle), M (motorcycle), HM (heavy motorcycle).
  The other rate types (per entry, passes, charging) and units are not documented well enough
  to read without guessing and are left aside.

Where the text prices a class per hour, every hour both give a price for is compared; a
disagreement is reported as a conflict of that class (and of the classes the text prices with the
same words). The text stands: it is the tariff as the city publishes it, and FareInfo gives only
prices (no billing unit, free minutes or caps), so it cannot be the better reading of the two.
Where the text gives no price for the class, FareInfo's prices are taken; the billing unit and the
rest still have to come from the text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from platebind.tariffs.days import (
    ALL_DAYS,
    DAYS_OFF,
    MINUTES_PER_DAY,
    WEEKDAYS,
    DayKind,
    describe_days,
    describe_span,
)
from platebind.tariffs.payex_draft import CAR, HEAVY, MOTORCYCLE, ClassDraft, Item, Target
from platebind.tariffs.payex_words import parse_band

_PARKING_TYPES: dict[str, tuple[Target, ...]] = {
    "C": (CAR,),
    "CM": (CAR, HEAVY),
    "M": (MOTORCYCLE,),
    "HM": (HEAVY,),
}
_DAY_GROUPS = {"WorkingDay": WEEKDAYS, "Holiday": DAYS_OFF}
FARE_INFO = "FareInfo"


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a price") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"{value!r} is not a price")
    return price


def _period(text: Any) -> tuple[int, int]:
    start, sep, end = str(text).partition("~")
    if not sep:
        raise ValueError(f"{text!r} is not a period HH~HH")
    return parse_band(start, end)


def _working_day_items(fare_info: Mapping[str, Any]) -> dict[Target, list[Item]]:
    items: list[Item] = []
    for group, days in _DAY_GROUPS.items():
        for entry in fare_info.get(group) or []:
            band = _period(entry.get("Period"))
            items.append(Item(_price(entry.get("Fare")), "hour", FARE_INFO, days, band))
    return {CAR: items} if items else {}


def _fare_rule_items(rules: list[Mapping[str, Any]]) -> dict[Target, list[Item]]:
    items: dict[Target, list[Item]] = defaultdict(list)
    for rule in rules:
        targets = _PARKING_TYPES.get(str(rule.get("ParkingType", "")).strip())
        if targets is None or str(rule.get("RateType")).strip() != "1" or rule.get("CUnit"):
            continue
        band = parse_band(str(rule.get("ChargeableSTime")), str(rule.get("ChargeableETime")))
        item = Item(_price(rule.get("ParkingRates")), "hour", FARE_INFO, None, band)
        for target in targets:
            items[target].append(item)
    return dict(items)


def fare_info_items(fare_info: Mapping[str, Any]) -> dict[Target, list[Item]]:
    """The per-hour prices FareInfo gives, per class; ``ValueError`` if it cannot be read."""
    if not isinstance(fare_info, Mapping):
        raise ValueError("FareInfo is not an object")
    if "FareRule" in fare_info:
        return _fare_rule_items(list(fare_info.get("FareRule") or []))
    return _working_day_items(fare_info)


Segment = tuple[int, int, Decimal]


def _by_day(items: list[Item]) -> dict[DayKind, list[Segment]]:
    per_day: dict[DayKind, list[Segment]] = defaultdict(list)
    for item in items:
        start, end = item.band if item.band is not None else (0, MINUTES_PER_DAY)
        parts = [(start, end)] if end > start else [(start, MINUTES_PER_DAY), (0, end)]
        for kind in item.days if item.days is not None else ALL_DAYS:
            per_day[kind].extend((a, b, item.price) for a, b in parts)
    return per_day


def _price_at(segments: list[Segment], minute: int) -> set[Decimal]:
    return {price for start, end, price in segments if start <= minute < end}


def disagreements(text_items: list[Item], info_items: list[Item]) -> list[str]:
    """Where FareInfo and the text price the same hour differently (grouped by day kinds)."""
    text, info = _by_day(text_items), _by_day(info_items)
    if DayKind.HOLIDAY not in text:
        info.pop(DayKind.HOLIDAY, None)  # the text prices holidays as their weekdays
    found: dict[tuple[int, int, str, str], set[DayKind]] = defaultdict(set)
    for kind in set(text) & set(info):
        cuts = sorted({0, MINUTES_PER_DAY} | {m for s in text[kind] + info[kind] for m in s[:2]})
        for start, end in zip(cuts, cuts[1:], strict=False):
            said, given = _price_at(text[kind], start), _price_at(info[kind], start)
            if said and given and said != given:
                shown = (", ".join(map(str, sorted(said))), ", ".join(map(str, sorted(given))))
                found[(start, end, *shown)].add(kind)
    return [
        f"FareInfo gives {given}/h for {describe_days(frozenset(kinds))} "
        f"{describe_span(start, end)}, the text {said}/h"
        for (start, end, said, given), kinds in sorted(found.items())
    ]


def apply_fare_info(drafts: dict[Target, ClassDraft], fare_info: Mapping[str, Any]) -> None:
    """Cross-check each class's hourly prices with FareInfo; take FareInfo's where the text
    has none."""
    try:
        items = fare_info_items(fare_info)
    except (ValueError, TypeError, AttributeError) as exc:
        for draft in drafts.values():
            if draft.items:
                draft.conflicts.append(f"FareInfo cannot be read: {exc}")
        return
    for target, info_items in items.items():
        draft = drafts[target]
        hourly = [i for i in draft.items if i.unit == "hour"]
        if hourly:
            found = disagreements(hourly, info_items)
            for alike in _priced_alike(drafts, hourly):
                alike.conflicts.extend(found)
        elif not draft.has_fare:
            draft.items.extend(info_items)


def _priced_alike(drafts: dict[Target, ClassDraft], hourly: list[Item]) -> list[ClassDraft]:
    """The classes the text prices with these very phrases (「小型車(含大型重型機車)」)."""
    return [d for d in drafts.values() if any(i is h for i in d.items for h in hourly)]
