"""Portal tables: members, their server-side sessions, their plate lists and notifications.

A member's national ID is never stored: only ``owner_key``, the same keyed hash the vehicle
registry keeps (``vehicles.service.owner_key``), so a dump reveals no ID and ownership is a join.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, BigId, JsonDoc, UTCDateTime, created_at_default


class Member(Base):
    __tablename__ = "members"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Stored lower-cased: one account per address however it is typed.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # One account per national ID: whoever holds the ID owns its plates in the portal.
    owner_key: Mapped[str] = mapped_column(String(64), unique=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh_TW")
    # E-mail me three days before a bill of my plates is due.
    bill_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class PortalSession(Base):
    """A browser's session: anonymous (``member_id`` null, for the log-in form's CSRF token)
    or logged in. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class MemberPlate(Base):
    """A plate on a member's 北市停車費 list (any plate; ownership is a separate fact)."""

    __tablename__ = "member_plates"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    vehicle_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    plate: Mapped[str] = mapped_column(String(12), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class ChangeWatch(Base):
    """A member's request to be told when a pending change of an owned plate takes effect."""

    __tablename__ = "change_watches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"))
    vehicle_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        UniqueConstraint("member_id", "scope_id", "vehicle_type", "plate", "effective_at"),
        Index("ix_change_watches_due", "delivered_at", "effective_at"),
    )


class BillReminder(Base):
    """A bill a member was reminded of (so each member is reminded of each bill once)."""

    __tablename__ = "bill_reminders"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id"), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class Notice(Base):
    """An in-portal notice. Stored as a kind and parameters, rendered in the reader's language."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class OutgoingEmail(Base):
    """An e-mail written in the same transaction as its reason and sent afterwards (an outbox:
    a crash between the two loses nothing; a resend after a crash mid-send is possible)."""

    __tablename__ = "outgoing_emails"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (Index("ix_outgoing_emails_due", "sent_at", "next_attempt_at"),)
