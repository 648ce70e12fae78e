"""Appending domain events to the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.db import created_at_default, dialect_insert
from platebind.webhooks.models import OutboxEvent


def emit(
    session: Session,
    *,
    event_type: str,
    object_id: str,
    effective_at: datetime,
    agent_id: str,
    payload: dict[str, Any],
    once: bool = False,
) -> None:
    """Append an event to the outbox.

    ``once``: skip it if the same (event type, object, effective time) is already there, so a
    job that re-runs after a crash emits nothing twice. Writers of fresh events leave it off:
    a plain insert joins the transaction's one flush instead of costing a round trip now.
    """
    if not once:
        session.add(
            OutboxEvent(
                event_type=event_type,
                object_id=object_id,
                effective_at=effective_at,
                agent_id=agent_id,
                payload=payload,
            )
        )
        return
    stmt = (
        dialect_insert(session)(OutboxEvent)
        .values(
            event_type=event_type,
            object_id=object_id,
            effective_at=effective_at,
            agent_id=agent_id,
            payload=payload,
            created_at=created_at_default(),
        )
        .on_conflict_do_nothing()
    )
    session.execute(stmt)


def events_for(session: Session, agent_id: str | None = None) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).order_by(OutboxEvent.id)
    if agent_id is not None:
        stmt = stmt.where(OutboxEvent.agent_id == agent_id)
    return list(session.scalars(stmt))
