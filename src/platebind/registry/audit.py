"""The audit log: who did what, when, from which request — for every write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.registry.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who asks: ``agent`` (by key), ``admin`` (CLI), ``citizen`` (portal), ``system`` (jobs)."""

    type: str
    id: str | None = None
    request_id: str | None = None


SYSTEM = Actor("system")


def record(
    session: Session,
    actor: Actor,
    at: datetime,
    action: str,
    *,
    scope_id: str | None = None,
    vehicle_type: str | None = None,
    plate: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=at,
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            request_id=actor.request_id,
            scope_id=scope_id,
            vehicle_type=vehicle_type,
            plate=plate,
            object_id=object_id,
            detail=detail or {},
        )
    )


def plate_audit(session: Session, vehicle_type: str, plate: str) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.vehicle_type == vehicle_type, AuditEntry.plate == plate)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(session.scalars(stmt))
