"""Shared by the tariff tests: Taipei times and tariffs built by hand."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platebind.clock import TAIPEI
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


# The City of Taipei's feed, in the steering repository next to this one (DESIGN.md, Parking).
TAIPEI_FEED = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "taipei"
    / "TCMSV_alldesc-2025-07-27.json"
)


def taipei_feed() -> Path:
    """The real feed's path; the test is skipped where the steering repository is absent."""
    if not TAIPEI_FEED.exists():
        pytest.skip(f"the Taipei feed is not at {TAIPEI_FEED}")
    return TAIPEI_FEED
