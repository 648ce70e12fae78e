"""Roadside webhooks to the agent a bill was sent to: ``bill.issued`` (sent for auto-pay),
``bill.overdue`` (reminded; again when the surcharge is added), ``bill.paid`` (paid by the
agent), each with the whole bill as it is then. Written to the outbox in the writer's
transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from platebind.webhooks.service import emit


def tell(
    session: Session,
    now: datetime,
    event_type: str,
    *,
    agent_id: str,
    bill_no: str,
    effective_at: datetime,
    data: dict[str, Any],
    once: bool = False,
) -> None:
    """``once``: for the daily job, which may re-run after a crash (see ``emit``)."""
    emit(
        session,
        event_type=event_type,
        object_id=bill_no,
        effective_at=effective_at,
        agent_id=agent_id,
        payload={"type": event_type, "data": data},
        now=now,
        once=once,
    )
