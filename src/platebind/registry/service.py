"""Binding rules with I/O: bind, unbind, transfer, look-up and history.

Every write on a plate follows one lock order: upsert-and-lock the plate's row, read its
bindings, write, then take the scope's change-feed numbers last. Services never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from platebind import plates
from platebind.clock import Clock
from platebind.db import UTCDateTime, dialect_name
from platebind.registry import audit, transfers
from platebind.registry.agents import get_agent, revoke_keys
from platebind.registry.audit import Actor
from platebind.registry.errors import (
    AgentNotAccredited,
    AgentNotFound,
    AgentSuspended,
    BindingNotFound,
    InvalidPlateError,
    PlateBoundElsewhere,
    ScopeNotFound,
)
from platebind.registry.events import binding_event
from platebind.registry.models import (
    Accreditation,
    Agent,
    Binding,
    BindingChange,
    PlateLock,
    Scope,
    TransferCode,
)
from platebind.registry.rules import (
    Conflict,
    EndReason,
    Interval,
    Takeover,
    Truncation,
    end_effective_at,
    live_intervals,
    open_interval,
    plan_bind,
    request_effective_at,
)
from platebind.registry.scopes import calendar_for, get_scope, next_seqs, policy_of

PORTAL_PLATE_PATH = "/portal/plates"


@dataclass(frozen=True)
class PlateKey:
    scope_id: str
    vehicle_type: str
    plate: str


@dataclass(frozen=True)
class BindResult:
    binding: Binding
    created: bool
    effective_at: datetime


@dataclass(frozen=True)
class EndResult:
    binding: Binding
    effective_at: datetime
    changed: bool


def plate_key(scope_id: str, vehicle_type: str, plate: str) -> PlateKey:
    """Canonical identity of a plate in a scope; ``invalid_plate`` for unreadable input."""
    try:
        canonical = plates.canonical_plate(plate, vehicle_type)
        identity = plates.binding_type(vehicle_type)
    except (plates.InvalidPlate, ValueError) as exc:
        raise InvalidPlateError(str(exc), plate=plate, vehicle_type=vehicle_type) from exc
    return PlateKey(scope_id, identity.value, canonical)


# The hot path's statements are built once: constructing a SQLAlchemy expression costs more than
# running it on SQLite. Values go in as bound parameters.
_PLATE_PARAMS: dict[str, BindParameter[Any]] = {
    "scope_id": bindparam("scope_id"),
    "vehicle_type": bindparam("vehicle_type"),
    "plate": bindparam("plate"),
}


@cache
def _lock_plate_statement(dialect: str) -> Any:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return (
        insert(PlateLock)
        .values(**_PLATE_PARAMS, writes=1)
        .on_conflict_do_update(
            index_elements=["scope_id", "vehicle_type", "plate"],
            set_={"writes": PlateLock.writes + 1},
        )
    )


def _lock_plate(session: Session, key: PlateKey) -> None:
    """Serialise writes on one plate: the upsert takes the row lock (PostgreSQL) until commit."""
    session.execute(_lock_plate_statement(dialect_name(session)), _plate_values(key))


def _plate_values(key: PlateKey) -> dict[str, str]:
    return {"scope_id": key.scope_id, "vehicle_type": key.vehicle_type, "plate": key.plate}


_PLATE_BINDINGS = (
    select(Binding)
    .where(
        Binding.scope_id == _PLATE_PARAMS["scope_id"],
        Binding.vehicle_type == _PLATE_PARAMS["vehicle_type"],
        Binding.plate == _PLATE_PARAMS["plate"],
        or_(Binding.valid_to.is_(None), Binding.valid_to > bindparam("at", type_=UTCDateTime)),
    )
    .execution_options(populate_existing=True)
)


def bindings_not_over(session: Session, key: PlateKey, at: datetime) -> list[Binding]:
    """Bindings of the plate that are not over at ``at``, read fresh after the lock."""
    return list(session.scalars(_PLATE_BINDINGS, {**_plate_values(key), "at": at}))


def _interval(binding: Binding) -> Interval:
    return Interval(binding.id, binding.agent_id, binding.valid_from, binding.valid_to)


_BIND_CONTEXT = (
    select(Scope, Agent.status, Accreditation.agent_id)
    .select_from(Scope)
    .outerjoin(Agent, Agent.id == bindparam("agent_id"))
    .outerjoin(
        Accreditation,
        and_(
            Accreditation.agent_id == bindparam("agent_id"),
            Accreditation.scope_id == Scope.id,
        ),
    )
    .where(Scope.id == bindparam("scope_id"))
)


def _bind_context(session: Session, agent_id: str, scope_id: str) -> Scope:
    """The scope, checked with the agent's status and accreditation in one round trip (the
    bind is a hot path: round trips, not fsync, set its cost)."""
    row = session.execute(_BIND_CONTEXT, {"agent_id": agent_id, "scope_id": scope_id}).first()
    if row is None:
        raise ScopeNotFound(f"no scope {scope_id!r}")
    scope, status, accredited = row
    if status is None:
        raise AgentNotFound(f"no agent {agent_id!r}")
    if status != "active":
        raise AgentSuspended(f"agent {agent_id} is {status} and cannot bind plates")
    if accredited is None:
        raise AgentNotAccredited(f"agent {agent_id} is not accredited for scope {scope_id}")
    return scope


def bind(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    agent_id: str,
    scope_id: str,
    vehicle_type: str,
    plate: str,
    transfer_code: str | None = None,
) -> BindResult:
    """Bind a plate to an agent in a scope; see DESIGN.md "Binding rules in detail"."""
    now = clock.now()
    scope = _bind_context(session, agent_id, scope_id)
    key = plate_key(scope_id, vehicle_type, plate)
    _lock_plate(session, key)
    rows = {b.id: b for b in bindings_not_over(session, key, now)}
    live = live_intervals([_interval(b) for b in rows.values()], now)
    effective = request_effective_at(now, policy_of(scope), calendar_for(session, scope))
    takeover, code = _takeover(session, now, agent_id, key, live, transfer_code)
    try:
        plan = plan_bind(live, agent_id, effective, takeover)
    except Conflict:
        raise _bound_elsewhere(key) from None
    if plan.existing is not None:
        existing = rows[plan.existing.id]
        return BindResult(existing, created=False, effective_at=existing.valid_from)
    if plan.uses_transfer_code and code is not None:
        transfers.redeem(code, now, agent_id)
    assert plan.start is not None
    binding = _write_bind(
        session, clock, actor, scope, key, agent_id, plan.start, plan.truncations, rows
    )
    return BindResult(binding, created=True, effective_at=plan.start)


def _takeover(
    session: Session,
    now: datetime,
    agent_id: str,
    key: PlateKey,
    live: list[Interval],
    transfer_code: str | None,
) -> tuple[Takeover, TransferCode | None]:
    """May ``agent_id`` take over another agent's open binding, and on what grounds?"""
    holder = open_interval(live)
    if holder is None or holder.agent_id == agent_id:
        return Takeover.NONE, None
    if get_agent(session, holder.agent_id).status != "active":
        return Takeover.HOLDER_SUSPENDED, None
    if transfer_code is None:
        return Takeover.NONE, None
    code = transfers.check(
        session, now, agent_id, key.scope_id, key.vehicle_type, key.plate, transfer_code
    )
    return Takeover.TRANSFER_CODE, code


def _bound_elsewhere(key: PlateKey) -> PlateBoundElsewhere:
    # Agents are not told which competitor holds the plate; its owner sees that in the portal.
    return PlateBoundElsewhere(
        f"{key.plate} ({key.vehicle_type}) is bound to another agent in {key.scope_id}. The owner "
        "can see the holder and get a transfer code in the portal.",
        transfer_possible=True,
        portal_url=f"{PORTAL_PLATE_PATH}?vehicle_type={key.vehicle_type}&plate={key.plate}",
    )


def _write_bind(
    session: Session,
    clock: Clock,
    actor: Actor,
    scope: Scope,
    key: PlateKey,
    agent_id: str,
    start: datetime,
    truncations: list[Truncation],
    rows: dict[uuid.UUID, Binding],
) -> Binding:
    now = clock.now()
    ended = [_set_end(rows[t.interval.id], t.valid_to, t.reason, now) for t in truncations]
    binding = Binding(
        id=uuid.uuid4(),
        scope_id=key.scope_id,
        vehicle_type=key.vehicle_type,
        plate=key.plate,
        agent_id=agent_id,
        valid_from=start,
        valid_to=None,
        requested_at=now,
    )
    session.add(binding)
    _flush_or_conflict(session, key)
    seqs = iter(next_seqs(session, scope.id, len(ended) + 1))
    for old in ended:
        _publish_end(session, scope, old, next(seqs), now)
    seq = next(seqs)
    _publish_change(session, binding, seq, "bind", now)
    _emit_start(session, binding, seq, now)
    audit.record(
        session,
        actor,
        now,
        "binding.bind",
        scope_id=key.scope_id,
        vehicle_type=key.vehicle_type,
        plate=key.plate,
        object_id=str(binding.id),
        detail={
            "agent": agent_id,
            "valid_from": start.isoformat(),
            "ends": [str(b.id) for b in ended],
        },
    )
    return binding


def _set_end(binding: Binding, valid_to: datetime, reason: str, now: datetime) -> Binding:
    binding.valid_to = valid_to
    binding.end_reason = reason
    binding.end_requested_at = now
    return binding


def _flush_or_conflict(session: Session, key: PlateKey) -> None:
    """A constraint violation here means a concurrent write won: answer it as a conflict."""
    try:
        session.flush()
    except IntegrityError:
        raise _bound_elsewhere(key) from None


def _publish_change(
    session: Session, binding: Binding, seq: int, change: str, now: datetime
) -> None:
    session.add(
        BindingChange(
            scope_id=binding.scope_id,
            seq=seq,
            binding_id=binding.id,
            agent_id=binding.agent_id,
            vehicle_type=binding.vehicle_type,
            plate=binding.plate,
            change=change,
            valid_from=binding.valid_from,
            valid_to=binding.valid_to,
            reason=binding.end_reason,
            recorded_at=now,
        )
    )


def _emit_start(session: Session, binding: Binding, seq: int, now: datetime) -> None:
    if binding.valid_from > now:
        binding_event(session, "binding.scheduled", binding, seq, binding.valid_from, now)
    else:
        binding_event(session, "binding.activated", binding, seq, binding.valid_from, now)


def _publish_end(session: Session, scope: Scope, binding: Binding, seq: int, now: datetime) -> None:
    """Change row and event for a binding that got its ``valid_to``."""
    assert binding.valid_to is not None
    cancelled = binding.valid_to == binding.valid_from
    _publish_change(session, binding, seq, "cancel" if cancelled else "end", now)
    if cancelled:
        event = "binding.cancelled"
    elif binding.end_reason == EndReason.TRANSFERRED:
        event = "binding.transfer_out"
    elif binding.valid_to <= now:
        event = "binding.ended"
    else:
        event = "binding.ending"
    binding_event(session, event, binding, seq, binding.valid_to, now)


def unbind(
    session: Session, clock: Clock, actor: Actor, *, agent_id: str, binding_id: uuid.UUID
) -> EndResult:
    """End the agent's binding at the scope's next cut-over (cancel it if it has not started)."""
    binding = session.get(Binding, binding_id)
    if binding is None or binding.agent_id != agent_id:
        raise BindingNotFound(f"agent {agent_id} has no binding {binding_id}")
    return end_binding(session, clock, actor, binding, EndReason.UNBOUND)


def unbind_plate(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    agent_id: str,
    scope_id: str,
    vehicle_type: str,
    plate: str,
) -> EndResult:
    get_scope(session, scope_id)
    key = plate_key(scope_id, vehicle_type, plate)
    mine = [
        b
        for b in bindings_not_over(session, key, clock.now())
        if b.agent_id == agent_id and b.valid_to != b.valid_from
    ]
    if not mine:
        raise BindingNotFound(f"agent {agent_id} holds no binding of {key.plate} in {scope_id}")
    latest = max(mine, key=lambda b: b.valid_from)
    return end_binding(session, clock, actor, latest, EndReason.UNBOUND)


def end_binding(
    session: Session, clock: Clock, actor: Actor, binding: Binding, reason: EndReason
) -> EndResult:
    """Give an open binding its end (idempotent: an end already set is returned as it is)."""
    now = clock.now()
    key = PlateKey(binding.scope_id, binding.vehicle_type, binding.plate)
    _lock_plate(session, key)
    session.refresh(binding)
    if binding.valid_to is not None:
        return EndResult(binding, binding.valid_to, changed=False)
    scope = get_scope(session, binding.scope_id)
    end = end_effective_at(now, binding.valid_from, policy_of(scope), calendar_for(session, scope))
    _set_end(binding, end, reason, now)
    session.flush()
    (seq,) = next_seqs(session, scope.id, 1)
    _publish_end(session, scope, binding, seq, now)
    audit.record(
        session,
        actor,
        now,
        f"binding.{reason.value}",
        scope_id=key.scope_id,
        vehicle_type=key.vehicle_type,
        plate=key.plate,
        object_id=str(binding.id),
        detail={"agent": binding.agent_id, "valid_to": end.isoformat()},
    )
    return EndResult(binding, end, changed=True)


def issue_transfer_code(
    session: Session, clock: Clock, actor: Actor, scope_id: str, vehicle_type: str, plate: str
) -> transfers.IssuedCode:
    """A transfer code for a plate in a scope (the owner's consent to a port-in)."""
    get_scope(session, scope_id)
    key = plate_key(scope_id, vehicle_type, plate)
    return transfers.issue(session, clock, actor, key.scope_id, key.vehicle_type, key.plate)


def agent_open_bindings(session: Session, agent_id: str) -> list[Binding]:
    stmt = select(Binding).where(Binding.agent_id == agent_id, Binding.valid_to.is_(None))
    return list(session.scalars(stmt))


def offboard_agent(session: Session, clock: Clock, actor: Actor, agent_id: str) -> list[EndResult]:
    """End all the agent's bindings at each scope's next cut-over; its charges stay."""
    agent = get_agent(session, agent_id)
    results = [
        end_binding(session, clock, actor, b, EndReason.OFFBOARDED)
        for b in agent_open_bindings(session, agent_id)
    ]
    agent.status = "offboarded"
    revoke_keys(session, clock, "agent", agent_id)
    audit.record(session, actor, clock.now(), "agent.offboard", object_id=agent_id)
    return results
