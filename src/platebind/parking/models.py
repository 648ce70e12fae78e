"""Parking-lot tables: the lots, their entrances and, per tariff class, how their tariff text read;
the gates' LPR events and the parking sessions they open and close.

A lot's tariff is kept as the city publishes it (``payex``) and as read: one ``lot_tariffs`` row
per tariff class with the parse status, the tariff document when it was read in full, and the
phrases that could not be read. Nothing here is computed at query time.

Sessions are never deleted; every LPR event is kept with the decision first answered to it
(the exact bytes), so a repeated event gets the same answer and a dispute can be traced.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, JsonDoc, UTCDateTime, created_at_default

TARIFF_CLASSES = "'car', 'motorcycle', 'heavy_motorcycle'"
READ_STATUSES = "'full', 'partial', 'unread', 'absent'"
DEFAULT_CONFIDENCE_THRESHOLD = 0.8


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
    # LPR reads less sure than this go to the attendant (the camera's own 0-1 confidence).
    confidence_threshold: Mapped[float] = mapped_column(
        Double, default=DEFAULT_CONFIDENCE_THRESHOLD, server_default=text("0.8")
    )
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


class ParkingSession(Base):
    """A stay in a lot, from an entry event: ``open`` → ``exiting`` → ``closed``, or straight
    ``open`` → ``closed``.

    ``exiting``: the exit was seen and waits for the pay station or an attendant (the lot
    closes it: paid at the station, or unpaid → a bill). A card-free session keeps the agent
    bound at entry whatever happens to the binding while parked.
    """

    __tablename__ = "parking_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"))
    # The tariff class read at entry (what the fee is computed for) and the plate's identity.
    vehicle_type: Mapped[str] = mapped_column(String(20))
    binding_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    # ``rules.fuzzy_key(plate)``: exits find exact and confusable sessions in one index look-up.
    plate_key: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(8))
    card_free: Mapped[bool] = mapped_column(Boolean)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), index=True)
    binding_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_event_id: Mapped[str] = mapped_column(String(64))
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_event_id: Mapped[str | None] = mapped_column(String(64))
    exit_action: Mapped[str | None] = mapped_column(String(10))
    # How the exit read found the session ("fuzzy": disputable) and what the camera read.
    match: Mapped[str | None] = mapped_column(String(8))
    exit_read: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[int | None] = mapped_column(Integer)
    # charged (card-free), free, paid_at_station, unpaid (a bill of the plate).
    outcome: Mapped[str | None] = mapped_column(String(16))
    charge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("charges.id"))
    bill_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bills.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flags: Mapped[list[str]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'exiting', 'closed')", name="status"),
        CheckConstraint("NOT card_free OR agent_id IS NOT NULL", name="card_free_agent"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        Index("ix_parking_sessions_inside", "lot_id", "binding_type", "plate_key", "status"),
    )


class LprEvent(Base):
    """One camera read posted by a lot, unique per (lot, event id), with its decision.

    ``response`` is the answer exactly as first sent; ``request_hash`` what made the event
    (a repeat with other facts is refused, not answered as if it were the same).
    """

    __tablename__ = "lpr_events"

    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gate: Mapped[str] = mapped_column(String(5))
    plate_read: Mapped[str] = mapped_column(String(32))
    # The canonical plate; None when the read is not a valid plate.
    plate: Mapped[str | None] = mapped_column(String(12))
    vehicle_type: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    confidence: Mapped[float] = mapped_column(Double)
    decided_action: Mapped[str | None] = mapped_column(String(10))
    replayed: Mapped[bool] = mapped_column(Boolean)
    image_ref: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    request_hash: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parking_sessions.id"), index=True
    )
    amount: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[str | None] = mapped_column(String(40))
    flags: Mapped[list[str]] = mapped_column(JsonDoc)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint("gate IN ('entry', 'exit')", name="gate"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    )
