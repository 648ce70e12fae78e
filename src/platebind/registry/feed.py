"""The change feed (read side) and the daily cycle that publishes what took effect."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from platebind.clock import Clock
from platebind.db import lock_key
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.registry.events import binding_event
from platebind.registry.models import Binding, BindingChange, CycleRun, Scope
from platebind.registry.scopes import get_scope, list_scopes

MAX_PAGE = 1000


class ChangeRow(Protocol):
    """A change-feed row as read (a plain row: the feed is append-only, nothing to track)."""

    seq: int
    binding_id: uuid.UUID
    agent_id: str
    vehicle_type: str
    plate: str
    change: str
    valid_from: datetime
    valid_to: datetime | None
    reason: str | None
    recorded_at: datetime


_CHANGES = cast(Table, BindingChange.__table__)


def changes(
    session: Session, scope_id: str, after: int = 0, limit: int = 100, agent_id: str | None = None
) -> list[ChangeRow]:
    """Changes with ``seq > after`` in order; an agent reader sees only its own bindings'.

    Read as Core rows: ORM objects cost four times as much per row for a page nobody edits.
    """
    get_scope(session, scope_id)
    t = _CHANGES.c
    stmt = (
        select(_CHANGES)
        .where(t.scope_id == scope_id, t.seq > after)
        .order_by(t.seq)
        .limit(max(1, min(limit, MAX_PAGE)))
    )
    if agent_id is not None:
        stmt = stmt.where(t.agent_id == agent_id)
    return cast(list[ChangeRow], session.execute(stmt).all())


@dataclass(frozen=True)
class Snapshot:
    seq: int
    bindings: Iterator[Binding]


def snapshot(
    session: Session, scope_id: str, at: datetime, agent_id: str | None = None, batch: int = 1000
) -> Snapshot:
    """Every binding not over at ``at`` and the ``seq`` it is consistent with.

    The caller runs this in one repeatable-read transaction (PostgreSQL) or one SQLite read
    transaction, so the bindings and the ``seq`` agree; rows are streamed in batches.
    """
    get_scope(session, scope_id)
    seq = session.scalar(select(Scope.last_seq).where(Scope.id == scope_id)) or 0
    stmt = (
        select(Binding)
        .where(
            Binding.scope_id == scope_id,
            or_(Binding.valid_to.is_(None), Binding.valid_to > at),
            or_(Binding.valid_to.is_(None), Binding.valid_to != Binding.valid_from),
        )
        .order_by(Binding.vehicle_type, Binding.plate, Binding.valid_from)
        .execution_options(yield_per=batch)
    )
    if agent_id is not None:
        stmt = stmt.where(Binding.agent_id == agent_id)
    return Snapshot(seq, iter(session.scalars(stmt)))


@dataclass(frozen=True)
class CycleSummary:
    scope_id: str
    window_start: datetime | None
    ran_at: datetime
    activated: int
    ended: int


def run_cycle(
    session: Session, clock: Clock, actor: Actor, scope_ids: list[str] | None = None
) -> list[CycleSummary]:
    """Publish ``binding.activated``/``binding.ended`` for what took effect since the last run.

    Holds a database lock so two runs never overlap. It only publishes: every effective time
    was fixed when the request was accepted, so a crashed run loses nothing, and the outbox's
    uniqueness makes a re-run emit nothing twice.
    """
    lock_key(session, "platebind.cycle")
    now = clock.now()
    scopes = [get_scope(session, s) for s in scope_ids] if scope_ids else list_scopes(session)
    summaries = [_run_scope_cycle(session, scope.id, now) for scope in scopes]
    audit.record(
        session, actor, now, "cycle.run", detail={"scopes": [s.scope_id for s in summaries]}
    )
    return summaries


def _run_scope_cycle(session: Session, scope_id: str, now: datetime) -> CycleSummary:
    since = session.scalar(select(func.max(CycleRun.ran_at)).where(CycleRun.scope_id == scope_id))
    started = _took_effect(session, scope_id, Binding.valid_from, since, now)
    ended = _took_effect(session, scope_id, Binding.valid_to, since, now)
    seqs = _latest_seqs(session, [b.id for b in started + ended])
    for binding in started:
        binding_event(
            session,
            "binding.activated",
            binding,
            seqs.get(binding.id),
            binding.valid_from,
            now,
            once=True,
        )
    for binding in ended:
        assert binding.valid_to is not None
        binding_event(
            session,
            "binding.ended",
            binding,
            seqs.get(binding.id),
            binding.valid_to,
            now,
            once=True,
        )
    session.add(
        CycleRun(
            scope_id=scope_id,
            window_start=since,
            ran_at=now,
            activated=len(started),
            ended=len(ended),
        )
    )
    return CycleSummary(scope_id, since, now, len(started), len(ended))


def _took_effect(
    session: Session,
    scope_id: str,
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    since: datetime | None,
    now: datetime,
) -> list[Binding]:
    """Bindings (never the cancelled ones) whose ``column`` time fell in ``(since, now]``."""
    window: ColumnElement[bool] = column <= now
    if since is not None:
        window = and_(window, column > since)
    stmt = select(Binding).where(
        Binding.scope_id == scope_id,
        window,
        or_(Binding.valid_to.is_(None), Binding.valid_to != Binding.valid_from),
    )
    return list(session.scalars(stmt))


def _latest_seqs(session: Session, binding_ids: list[object]) -> dict[object, int]:
    """The last change ``seq`` of each binding, asked in chunks to keep IN lists small."""
    seqs: dict[object, int] = {}
    for start in range(0, len(binding_ids), 500):
        stmt = (
            select(BindingChange.binding_id, func.max(BindingChange.seq))
            .where(BindingChange.binding_id.in_(binding_ids[start : start + 500]))
            .group_by(BindingChange.binding_id)
        )
        seqs.update({row[0]: row[1] for row in session.execute(stmt)})
    return seqs
