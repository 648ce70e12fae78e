"""Shared by the tariff tests: Taipei times and tariffs built by hand."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from platebind.clock import TAIPEI
from platebind.data import TAIPEI_FEED
from platebind.plates import TariffClass
from platebind.tariffs.days import ALL_DAYS, DayKind
from platebind.tariffs.model import Band, Billing, Hourly, Rate, Tariff

CAR = TariffClass.CAR
MOTORCYCLE = TariffClass.MOTORCYCLE
HEAVY = TariffClass.HEAVY_MOTORCYCLE


def at(text: str) -> datetime:
    """``"2026-11-27 10:00"`` in Taipei time (2026-11-27 is a Friday, 12-25 a holiday)."""
    return datetime.fromisoformat(text).replace(tzinfo=TAIPEI)


def band(start: str, end: str, per_hour: str | int | Decimal) -> Band:
    return Band.model_validate({"start": start, "end": end, "per_hour": str(per_hour)})


def hourly_tariff(
    *bands: Band,
    unit: int = 30,
    first: int | None = None,
    across: str = "split",
    days: frozenset[DayKind] = ALL_DAYS,
    **extra: object,
) -> Tariff:
    """One rate for ``days`` (every day by default) with these bands."""
    billing = Billing.model_validate(
        {"unit_minutes": unit, "first_unit_minutes": first or unit, "across_bands": across}
    )
    hourly = Hourly(rates=(Rate(days=days, bands=bands),), billing=billing)
    return Tariff.model_validate({"tariff_class": CAR, "hourly": hourly, **extra})


def flat(per_hour: int | str, **extra: Any) -> Tariff:
    return hourly_tariff(band("00:00", "24:00", Decimal(str(per_hour))), **extra)


def taipei_feed() -> Path:
    """The real feed, as published on 2025-07-27 (shipped in ``platebind.data``)."""
    return TAIPEI_FEED
