"""Parking-lot tables: the lots, their entrances and, per tariff class, how their tariff text read.

A lot's tariff is kept as the city publishes it (``payex``) and as read: one ``lot_tariffs`` row
per tariff class with the parse status, the tariff document when it was read in full, and the
phrases that could not be read. Nothing here is computed at query time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Double, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, JsonDoc, UTCDateTime, created_at_default

TARIFF_CLASSES = "'car', 'motorcycle', 'heavy_motorcycle'"
READ_STATUSES = "'full', 'partial', 'unread', 'absent'"


class Lot(Base):
    """A parking lot (id as in the city's feed, e.g. ``TPE0001``) in one binding scope."""

    __tablename__ = "lots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(Text)
    # Spaces per vehicle type; None where the feed says -9 or nothing.
    capacity_car: Mapped[int | None] = mapped_column(Integer)
    capacity_motorcycle: Mapped[int | None] = mapped_column(Integer)
    capacity_heavy_motorcycle: Mapped[int | None] = mapped_column(Integer)
    # The tariff as the city publishes it, free text.
    payex: Mapped[str] = mapped_column(Text)
    # When the last import wrote this row, on the injected clock.
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint(
            "capacity_car >= 0 AND capacity_motorcycle >= 0 AND capacity_heavy_motorcycle >= 0",
            name="capacities",
        ),
    )


class LotEntrance(Base):
    """An entrance of a lot, in WGS84 degrees (the feed's ``Xcod`` is the latitude)."""

    __tablename__ = "lot_entrances"

    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    address: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("latitude >= -90 AND latitude <= 90", name="latitude"),
        CheckConstraint("longitude >= -180 AND longitude <= 180", name="longitude"),
    )


class LotTariff(Base):
    """How a lot's tariff text read for one tariff class (``platebind.tariffs.payex``)."""

    __tablename__ = "lot_tariffs"

    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True)
    tariff_class: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    # The tariff document (``Tariff`` JSON) when read in full, else JSON null.
    tariff: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    # What was read of a partial one.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    unread: Mapped[list[str]] = mapped_column(JsonDoc)
    problems: Mapped[list[str]] = mapped_column(JsonDoc)
    # Where the feed's structured FareInfo disagrees with the text (the text stands).
    conflicts: Mapped[list[str]] = mapped_column(JsonDoc)

    __table_args__ = (
        CheckConstraint(f"tariff_class IN ({TARIFF_CLASSES})", name="tariff_class"),
        CheckConstraint(f"status IN ({READ_STATUSES})", name="status"),
    )
