"""The outbox. Delivery (signing, retries) reads from here; writers only append."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, BigId, JsonDoc, UTCDateTime, created_at_default


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agent_id: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    # A re-run of the cycle (or a crash and retry) emits nothing twice.
    __table_args__ = (UniqueConstraint("event_type", "object_id", "effective_at"),)
