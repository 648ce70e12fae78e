"""Binding events for the outbox: the whole binding as it is, and its change-feed ``seq``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from platebind.registry.models import Binding
from platebind.registry.schemas import BindingOut
from platebind.webhooks.service import emit


def binding_event(
    session: Session,
    event_type: str,
    binding: Binding,
    seq: int | None,
    effective_at: datetime,
    now: datetime,
    *,
    once: bool = False,
) -> None:
    """Emit a binding event carrying the whole binding as it is now and its change ``seq``."""
    payload = BindingOut.of(binding, now).model_dump(mode="json")
    emit(
        session,
        event_type=event_type,
        object_id=str(binding.id),
        effective_at=effective_at,
        agent_id=binding.agent_id,
        payload={"type": event_type, "seq": seq, "data": payload},
        now=now,
        once=once,
    )
