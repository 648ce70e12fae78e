"""Read side of the registry: one binding, a plate's holder and upcoming bindings, its history.

Reads only, except that the authority's reading of a plate's history is itself audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.registry.errors import BindingNotFound
from platebind.registry.models import AuditEntry, Binding
from platebind.registry.rules import BindingStatus, binding_status
from platebind.registry.scopes import get_scope
from platebind.registry.service import PlateKey, bindings_not_over, plate_key


def get_binding(session: Session, binding_id: uuid.UUID, agent_id: str | None = None) -> Binding:
    binding = session.get(Binding, binding_id)
    if binding is None or (agent_id is not None and binding.agent_id != agent_id):
        raise BindingNotFound(f"no binding {binding_id}")
    return binding


@dataclass(frozen=True)
class PlateLookup:
    key: PlateKey
    holder: Binding | None
    upcoming: list[Binding]


def lookup(
    session: Session, scope_id: str, vehicle_type: str, plate: str, at: datetime
) -> PlateLookup:
    """Who holds the plate at ``at``, and which bindings start later."""
    get_scope(session, scope_id)
    key = plate_key(scope_id, vehicle_type, plate)
    bindings = sorted(bindings_not_over(session, key, at), key=lambda b: b.valid_from)
    holder = next(
        (b for b in bindings if binding_status(b.valid_from, b.valid_to, at) in _HOLDING), None
    )
    upcoming = [
        b
        for b in bindings
        if binding_status(b.valid_from, b.valid_to, at) is BindingStatus.SCHEDULED
    ]
    return PlateLookup(key, holder, upcoming)


_HOLDING = (BindingStatus.ACTIVE, BindingStatus.ENDING)


def holder_at(session: Session, key: PlateKey, at: datetime) -> Binding | None:
    stmt = select(Binding).where(
        Binding.scope_id == key.scope_id,
        Binding.vehicle_type == key.vehicle_type,
        Binding.plate == key.plate,
        Binding.valid_from <= at,
        or_(Binding.valid_to.is_(None), Binding.valid_to > at),
    )
    return session.scalars(stmt).first()


def plate_history(session: Session, vehicle_type: str, plate: str) -> list[Binding]:
    """Every binding of the plate in every scope, oldest first."""
    key = plate_key("*", vehicle_type, plate)
    stmt = (
        select(Binding)
        .where(Binding.vehicle_type == key.vehicle_type, Binding.plate == key.plate)
        .order_by(Binding.scope_id, Binding.valid_from, Binding.created_at)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class PlateHistory:
    key: PlateKey
    bindings: list[Binding]
    events: list[AuditEntry]


def read_plate_history(
    session: Session, clock: Clock, actor: Actor, vehicle_type: str, plate: str
) -> PlateHistory:
    """A plate's intervals and audit trail. Reading a plate's movements is itself audited
    (personal data: the authority's every look is on record)."""
    key = plate_key("*", vehicle_type, plate)
    history = PlateHistory(
        key,
        plate_history(session, key.vehicle_type, key.plate),
        audit.plate_audit(session, key.vehicle_type, key.plate),
    )
    audit.record(
        session,
        actor,
        clock.now(),
        "plate.history_read",
        vehicle_type=key.vehicle_type,
        plate=key.plate,
    )
    return history
