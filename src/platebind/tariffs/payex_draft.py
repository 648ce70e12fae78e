"""What the reader found in a tariff text, per vehicle class, before it becomes a tariff."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from platebind.tariffs.days import DayKind, describe_days, describe_span, format_clock

Unit = Literal["hour", "entry"]
# The classes a text can name; "other" (大型車, 大客車, 貨車, …) is read and dropped.
Target = str
CAR, MOTORCYCLE, HEAVY, OTHER = "car", "motorcycle", "heavy_motorcycle", "other"


@dataclass
class Item:
    """One price: per hour or per entry, for some days (``None``: every day) and a band
    (``None``: all day; ``end < start`` runs past midnight); ``phrase`` is where it was read."""

    price: Decimal
    unit: Unit
    phrase: str
    days: frozenset[DayKind] | None = None
    band: tuple[int, int] | None = None
    postfix_days: bool = False

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"price": str(self.price), "unit": self.unit}
        if self.days is not None:
            doc["days"] = describe_days(self.days)
        if self.band is not None:
            doc["band"] = describe_span(*self.band)
        return doc


@dataclass
class CapDraft:
    amount: int
    days: frozenset[DayKind] | None
    resets_at: int = 0

    def as_dict(self) -> dict[str, Any]:
        days = "every day" if self.days is None else describe_days(self.days)
        return {"amount": self.amount, "days": days, "resets_at": format_clock(self.resets_at)}


@dataclass
class ClassDraft:
    """Everything read for one class; ``unread`` are exact phrases of the text."""

    items: list[Item] = field(default_factory=list)
    billing: list[tuple[int, int]] = field(default_factory=list)
    across_previous: bool = False
    grace: list[tuple[int, bool]] = field(default_factory=list)
    caps: list[CapDraft] = field(default_factory=list)
    entry_boundary: int | None = None
    free: bool = False
    rest_free: bool = False
    mirrors_car: bool = False
    unread: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Where FareInfo disagrees with the text: reported, the text's reading stands.
    conflicts: list[str] = field(default_factory=list)

    @property
    def has_fare(self) -> bool:
        return bool(self.items or self.free)

    @property
    def is_empty(self) -> bool:
        return not (self.has_fare or self.unread or self.problems or self.mirrors_car)

    def copy(self) -> ClassDraft:
        return copy.deepcopy(self)

    def as_dict(self) -> dict[str, Any]:
        """What was read, as JSON: the partial tariff of a text that was not read in full."""
        doc: dict[str, Any] = {"prices": [item.as_dict() for item in self.items]}
        if self.billing:
            first, unit = self.billing[0]
            doc["billing"] = {"first_unit_minutes": first, "unit_minutes": unit}
        if self.grace:
            minutes, inclusive = self.grace[0]
            doc["grace"] = {"minutes": minutes, "inclusive": inclusive}
        if self.caps:
            doc["caps"] = [cap.as_dict() for cap in self.caps]
        if self.entry_boundary is not None:
            doc["entry_day_boundary"] = format_clock(self.entry_boundary)
        if self.free:
            doc["free"] = True
        return doc
