"""Billing tables: charges to agents, the settle events statements are made of, and bills.

Charges are never edited once settled and never deleted: a correction is a new, negative
charge that references the original. Every settlement (paid, declined) and every correction
appends one ``settle_events`` row dated by when it happened; a statement is a range of those
rows, so a past day never changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, BigId, UTCDateTime, created_at_default

CHARGE_STATUSES = ("requested", "paid", "declined")
MATCHES = ("exact", "fuzzy")
SETTLE_KINDS = ("paid", "declined", "correction")
BILL_KINDS = ("lot", "roadside")
BILL_STATUSES = ("unpaid", "paid", "void")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Charge(Base):
    """A request for money addressed to one agent: ``requested`` → ``paid`` | ``declined``.

    ``vehicle_type`` is the plate's identity (car or motorcycle; a heavy motorcycle's charge
    is a motorcycle's). A correction (``corrects_charge_id`` set) has a negative ``amount``,
    the original's ``source``/``source_id``, and is created settled (``paid``): it is credited
    to the agent on the day it is made.
    """

    __tablename__ = "charges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"))
    vehicle_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    # What the charge is for: ("session", <lot session id>), later ("roadside_bill", <bill id>).
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(64))
    corrects_charge_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("charges.id"), index=True
    )
    place: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "fuzzy": the exit read matched the session only allowing LPR confusions (disputable).
    match: Mapped[str] = mapped_column(String(8), default="exact")
    raw_plate: Mapped[str | None] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The agent's payment reference (paid), or the correction's.
    reference: Mapped[str | None] = mapped_column(String(100))
    # Why it was declined ("unsettled" when nobody answered in 48 h), or why it was corrected.
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint(_one_of("status", CHARGE_STATUSES), name="status"),
        CheckConstraint(_one_of("match", MATCHES), name="match"),
        CheckConstraint(
            "(corrects_charge_id IS NULL AND amount >= 0) OR "
            "(corrects_charge_id IS NOT NULL AND amount < 0 AND status = 'paid')",
            name="amount",
        ),
        CheckConstraint("(status = 'requested') = (settled_at IS NULL)", name="settled"),
        # One original charge per source (a replayed exit finds it); corrections share the
        # original's source and are not counted.
        Index(
            "uq_charges_source",
            "source",
            "source_id",
            unique=True,
            sqlite_where=corrects_charge_id.is_(None),
            postgresql_where=corrects_charge_id.is_(None),
        ),
        # The agent's listing (by status, in request order) and the 48-hour sweep.
        Index("ix_charges_agent_listing", "agent_id", "status", "requested_at", "id"),
        Index("ix_charges_unsettled", "status", "requested_at"),
    )


class SettleEvent(Base):
    """A statement line: a charge paid or declined, or a correction made, at ``at``.

    One per charge (unique ``charge_id``): a charge is settled once, a correction is its own
    charge. Append-only; a replayed settle finds the charge settled and writes nothing.
    ``amount`` is the charge's: what was paid, what was declined (moved to a bill), or the
    (negative) correction.
    """

    __tablename__ = "settle_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    charge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("charges.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint(_one_of("kind", SETTLE_KINDS), name="kind"),
        # A statement is one range scan of this index, already in line order.
        Index("ix_settle_events_agent_at", "agent_id", "at", "id"),
    )


class Bill(Base):
    """Money a plate owes directly (not through an agent): ``unpaid`` → ``paid`` | ``void``.

    One per (source, source_id, reason). Roadside bills (issue 7) add their own columns in
    their migration (a surcharge next to ``amount``, ``reminded_at``); nothing here assumes a
    bill's total is only ``amount``.
    """

    __tablename__ = "bills"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    vehicle_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    # "declined" (the agent declined the charge), "unpaid_exit" (left without paying).
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(8), default="unpaid")
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("charges.id"), index=True)
    place: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    # Who paid, as the caller names them (e.g. "member:<id>"), for disputes.
    paid_by: Mapped[str | None] = mapped_column(String(80))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(String(200))
    # Roadside bills (issue 7): the surcharge (工本費) added after the reminder's notice period,
    # owed on top of ``amount``; when the reminder went out.
    surcharge: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    @property
    def total(self) -> int:
        """What paying the bill collects: the amount and any surcharge."""
        return self.amount + self.surcharge

    __table_args__ = (
        CheckConstraint(_one_of("kind", BILL_KINDS), name="kind"),
        CheckConstraint(_one_of("status", BILL_STATUSES), name="status"),
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("surcharge >= 0", name="surcharge"),
        CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name="paid"),
        CheckConstraint("(status = 'void') = (voided_at IS NOT NULL)", name="void"),
        UniqueConstraint("source", "source_id", "reason"),
        # The portal's 我的帳單: a plate's bills by status.
        Index("ix_bills_plate", "vehicle_type", "plate", "status", "issued_at"),
        # The daily job's overdue roadside bills.
        Index("ix_bills_due", "kind", "status", "due_at"),
    )
