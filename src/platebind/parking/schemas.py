"""Public shapes of parking lots, shared by the CLI and (later) the API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from platebind.clock import TAIPEI
from platebind.parking.models import Lot, LotEntrance, LotTariff
from platebind.plates import TariffClass
from platebind.tariffs.payex import Status

_CLASS_ORDER = list(TariffClass)


class EntranceOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    latitude: float
    longitude: float
    address: str | None

    @classmethod
    def of(cls, entrance: LotEntrance) -> EntranceOut:
        return cls(
            latitude=entrance.latitude, longitude=entrance.longitude, address=entrance.address
        )


class LotTariffOut(BaseModel):
    """How the lot's tariff text read for one tariff class."""

    model_config = ConfigDict(frozen=True)

    status: Status
    tariff: dict[str, Any] | None
    draft: dict[str, Any] | None
    unread: list[str]
    problems: list[str]
    conflicts: list[str]

    @classmethod
    def of(cls, row: LotTariff) -> LotTariffOut:
        return cls(
            status=Status(row.status),
            tariff=row.tariff,
            draft=row.draft,
            unread=list(row.unread),
            problems=list(row.problems),
            conflicts=list(row.conflicts),
        )


class LotSummaryOut(BaseModel):
    """One line of ``lot list``: the lot and the status of each class's tariff."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    district: str | None
    scope: str
    capacities: dict[TariffClass, int | None]
    tariffs: dict[TariffClass, Status]


class LotOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    district: str | None
    address: str | None
    scope: str
    capacities: dict[TariffClass, int | None]
    entrances: list[EntranceOut]
    payex: str
    tariffs: dict[TariffClass, LotTariffOut]
    imported_at: datetime

    @classmethod
    def of(cls, lot: Lot, entrances: list[LotEntrance], tariffs: list[LotTariff]) -> LotOut:
        return cls(
            id=lot.id,
            name=lot.name,
            district=lot.district,
            address=lot.address,
            scope=lot.scope_id,
            capacities=capacities_of(lot),
            entrances=[EntranceOut.of(e) for e in entrances],
            payex=lot.payex,
            tariffs={
                TariffClass(t.tariff_class): LotTariffOut.of(t)
                for t in sorted(
                    tariffs, key=lambda t: _CLASS_ORDER.index(TariffClass(t.tariff_class))
                )
            },
            imported_at=lot.imported_at.astimezone(TAIPEI),
        )


def capacities_of(lot: Lot) -> dict[TariffClass, int | None]:
    return {
        TariffClass.CAR: lot.capacity_car,
        TariffClass.MOTORCYCLE: lot.capacity_motorcycle,
        TariffClass.HEAVY_MOTORCYCLE: lot.capacity_heavy_motorcycle,
    }


@dataclass
class ImportSummary:
    """What ``lot import-taipei`` did; ``tariffs`` counts each class's reading statuses."""

    lots: int = 0
    inserted: int = 0
    updated: int = 0
    # Lots of the scope that this file does not list (left as they are).
    not_in_file: int = 0
    entrances: int = 0
    # Entrances the feed gives at 0, 0: position unknown, not stored.
    entrances_unknown: int = 0
    tariffs: dict[TariffClass, Counter[Status]] = field(
        default_factory=lambda: {c: Counter() for c in TariffClass}
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "lots": self.lots,
            "inserted": self.inserted,
            "updated": self.updated,
            "not_in_file": self.not_in_file,
            "entrances": self.entrances,
            "entrances_unknown": self.entrances_unknown,
            "tariffs": {
                c.value: {s.value: counts[s] for s in Status} for c, counts in self.tariffs.items()
            },
        }
