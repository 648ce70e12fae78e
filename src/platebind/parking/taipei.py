"""The lots of the City of Taipei's feed (``TCMSV_alldesc.json``) as checked records. Pure.

Every lot of the file is checked before anything is written; the problems are listed by lot
(``lot 12 (TPE0012), totalcar: ...``). What the feed's README says it means is kept: ``-9`` or
a missing capacity is unknown, ``Xcod`` is the latitude and ``Ycod`` the longitude, and an
entrance at 0, 0 is an entrance whose position the city does not know (skipped, counted).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from platebind.plates import TariffClass
from platebind.tariffs.feed import read_lot_tariffs
from platebind.tariffs.payex import PayexReading

MAX_ID_LENGTH = 32
MAX_LISTED_ERRORS = 100
_UNKNOWN_CAPACITY = -9
_SURROGATE = re.compile("[\ud800-\udfff]")
# The feed's capacity field of each tariff class.
CAPACITY_FIELDS = {
    TariffClass.CAR: "totalcar",
    TariffClass.MOTORCYCLE: "totalmotor",
    TariffClass.HEAVY_MOTORCYCLE: "totallargemotor",
}


@dataclass(frozen=True)
class Entrance:
    position: int
    latitude: float
    longitude: float
    address: str | None


@dataclass(frozen=True)
class LotRecord:
    id: str
    name: str
    district: str | None
    address: str | None
    capacities: dict[TariffClass, int | None]
    payex: str
    entrances: tuple[Entrance, ...]
    unknown_entrances: int
    reading: PayexReading


@dataclass(frozen=True)
class LotError:
    index: int  # 1-based position in the file's park list
    lot_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"lot {self.index}" + (f" ({self.lot_id})" if self.lot_id else "")
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass
class Check:
    errors: list[LotError] = field(default_factory=list)
    count: int = 0
    seen: dict[str, int] = field(default_factory=dict)

    def add(self, error: LotError) -> None:
        self.count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)


def _text(value: Any) -> str | None:
    """Free text of the feed: stripped, None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _capacity(value: Any) -> tuple[int | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        count = int(str(value).strip())
    except ValueError:
        return None, f"{value!r} is not a whole number"
    if count == _UNKNOWN_CAPACITY:
        return None, None
    if count < 0:
        return None, f"{count} is negative (only -9, unknown, is)"
    return count, None


def _coordinate(value: Any, low: float, high: float) -> float:
    number = float(str(value).strip())
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{value!r} is not between {low:g} and {high:g}")
    return number


def _entrances(raw: Any, report: list[tuple[str, str]]) -> tuple[tuple[Entrance, ...], int]:
    info = raw.get("EntrancecoordInfo", []) if isinstance(raw, Mapping) else None
    if raw in (None, "") or info == []:
        return (), 0
    if not isinstance(info, list):
        report.append(("EntranceCoord", "has no EntrancecoordInfo list"))
        return (), 0
    entrances, unknown = [], 0
    for position, item in enumerate(info, start=1):
        try:
            latitude = _coordinate(item.get("Xcod"), -90, 90)
            longitude = _coordinate(item.get("Ycod"), -180, 180)
        except (ValueError, AttributeError) as exc:
            report.append((f"EntranceCoord {position}", str(exc) or "has no Xcod/Ycod"))
            continue
        if latitude == 0 and longitude == 0:
            unknown += 1  # the feed's way of saying "not known"
            continue
        entrances.append(Entrance(position, latitude, longitude, _text(item.get("Address"))))
    return tuple(entrances), unknown


def _identity(index: int, lot: Mapping[str, Any], check: Check) -> str | None:
    lot_id = _text(lot.get("id"))
    if lot_id is None or len(lot_id) > MAX_ID_LENGTH:
        check.add(LotError(index, None, "id", f"missing or longer than {MAX_ID_LENGTH}"))
        return None
    first = check.seen.setdefault(lot_id, index)
    if first != index:
        check.add(LotError(index, lot_id, "id", f"repeats lot {first}"))
        return None
    return lot_id


def _unstorable_text(lot: Mapping[str, Any]) -> bool:
    """Whether any text of the lot (keys and values, nested ones included) holds a NUL or a
    lone surrogate: neither database can store them (PostgreSQL refuses NUL in text and JSON;
    a surrogate cannot be encoded as UTF-8), and a JSON file can carry both as escapes."""
    pending: list[Any] = [lot]
    while pending:  # iterative: the nesting is as deep as the file makes it
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value or _SURROGATE.search(value):
                return True
        elif isinstance(value, Mapping):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def check_lot(index: int, lot: Mapping[str, Any], check: Check) -> LotRecord | None:
    """The record of one lot, or None with its problems added to ``check``."""
    lot_id = _identity(index, lot, check)
    report: list[tuple[str, str]] = []
    if _unstorable_text(lot):
        report.append(("text", "contains a NUL character or a lone surrogate"))
    name = _text(lot.get("name"))
    if name is None:
        report.append(("name", "missing"))
    capacities: dict[TariffClass, int | None] = {}
    for tariff_class, name_of_field in CAPACITY_FIELDS.items():
        capacities[tariff_class], problem = _capacity(lot.get(name_of_field))
        if problem:
            report.append((name_of_field, problem))
    entrances, unknown = _entrances(lot.get("EntranceCoord"), report)
    for where, message in report:
        check.add(LotError(index, lot_id, where, message))
    if lot_id is None or name is None or report:
        return None
    return LotRecord(
        id=lot_id,
        name=name,
        district=_text(lot.get("area")),
        address=_text(lot.get("address")),
        capacities=capacities,
        payex=str(lot.get("payex") or ""),
        entrances=entrances,
        unknown_entrances=unknown,
        reading=read_lot_tariffs(lot),
    )
