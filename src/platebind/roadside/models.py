"""Roadside tables: each scope's rules, the street segments and their tariffs, and the
roadside specifics of every bill issued (its number, segment, issuer, first answer, surcharge).

The money side of a roadside bill is a ``billing.Bill`` (kind ``roadside``, source
``roadside_bill``, source id the bill number): what the portal lists and a member pays. The
row here keeps what only roadside parking knows; a bill is never deleted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, JsonDoc, UTCDateTime, created_at_default


class RoadsideRulesRow(Base):
    """A scope's roadside rules (``RoadsideRules.as_dict``); a scope without a row has the
    defaults."""

    __tablename__ = "roadside_rules"

    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"), primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class RoadsideSegment(Base):
    """A street segment (路段) of a scope, with its tariff text and the car tariff read from it
    in full (a segment whose car tariff does not read is refused)."""

    __tablename__ = "roadside_segments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    payex: Mapped[str] = mapped_column(Text)
    # The car tariff (``Tariff`` JSON) the fee engine prices car stays with.
    tariff: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class RoadsideBill(Base):
    """A roadside bill as issued: idempotent by ``bill_no``; its money is ``bill_id``'s Bill."""

    __tablename__ = "roadside_bills"

    bill_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id"), unique=True)
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"))
    segment_id: Mapped[str] = mapped_column(ForeignKey("roadside_segments.id"))
    # As issued (car, motorcycle, heavy_motorcycle); ``binding_type`` is the plate's identity.
    vehicle_type: Mapped[str] = mapped_column(String(20))
    binding_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    # The Taipei billing day of the stay (days start at the scope's day boundary).
    billing_day: Mapped[date] = mapped_column(Date)
    # Who issued it: "warden:<id>" (the API) or "import" (the CLI).
    issuer: Mapped[str] = mapped_column(String(80))
    # The agent the bill was sent to for auto-pay (bound in the scope at issue time), if any.
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    # What makes two submissions "the same bill" (a replay) rather than a reused number.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The first answer, returned again to a replay.
    answer: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    surcharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        # One motorcycle bill a plate a day: the plate's bills of a billing day, in one look-up.
        Index("ix_roadside_bills_plate_day", "scope_id", "binding_type", "plate", "billing_day"),
    )
