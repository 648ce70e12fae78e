"""The outbox and its delivery state. Writers only append; the dispatcher claims, signs, sends
and records attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, BigId, JsonDoc, UTCDateTime, created_at_default


class OutboxEvent(Base):
    """One event for one agent, and its delivery: ``pending`` → ``delivered`` | ``failed``."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agent_id: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the dispatcher may (next) try it; a claim pushes it forward as a lease, so a crashed
    # dispatcher's claim simply runs out and another one tries again.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    # A re-run of the cycle (or a crash and retry) emits nothing twice.
    __table_args__ = (
        UniqueConstraint("event_type", "object_id", "effective_at"),
        Index("ix_outbox_events_due", "status", "next_attempt_at"),
    )


class WebhookEndpoint(Base):
    """Where an agent receives its events. The secret signs them (Standard Webhooks), so it is
    kept as is; it is shown to the agent once and never logged."""

    __tablename__ = "webhook_endpoints"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(String(2000))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)
