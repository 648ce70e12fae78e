"""Scopes (independent binding spaces), their cut-over policy and the closed-day calendar."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from platebind.clock import BusinessCalendar, Clock
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.registry.errors import AlreadyExists, InvalidScopeSettings, ScopeNotFound
from platebind.registry.models import ClosedDay, Scope
from platebind.registry.rules import CutoverPolicy

SCOPE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
SCOPE_KINDS = ("lots", "roadside", "partner")


def parse_cutover(text: str) -> int:
    """``HH:MM`` (Taipei wall clock) to minutes after midnight."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if match is None:
        raise InvalidScopeSettings(f"cut-over {text!r} is not a time HH:MM between 00:00 and 23:59")
    return int(match[1]) * 60 + int(match[2])


def format_cutover(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def add_scope(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    scope_id: str,
    name: str,
    kind: str,
    name_en: str | None = None,
    cutover: str = "04:00",
    lead_hours: float = 1.0,
    immediate: bool = False,
    business_days_only: bool = False,
) -> Scope:
    if not SCOPE_ID.match(scope_id):
        raise InvalidScopeSettings(
            f"scope id {scope_id!r} must be 2-40 lower-case letters, digits or hyphens"
        )
    if kind not in SCOPE_KINDS:
        raise InvalidScopeSettings(f"kind {kind!r} must be one of {', '.join(SCOPE_KINDS)}")
    if not 0 <= lead_hours <= 24 * 14:
        raise InvalidScopeSettings("lead time must be between 0 and 336 hours")
    if session.get(Scope, scope_id) is not None:
        raise AlreadyExists(f"scope {scope_id} already exists")
    scope = Scope(
        id=scope_id,
        name=name,
        name_en=name_en,
        kind=kind,
        cutover_minute=parse_cutover(cutover),
        lead_seconds=round(lead_hours * 3600),
        immediate=immediate,
        business_days_only=business_days_only,
        last_seq=0,
    )
    session.add(scope)
    audit.record(session, actor, clock.now(), "scope.add", scope_id=scope_id)
    return scope


def get_scope(session: Session, scope_id: str) -> Scope:
    scope = session.get(Scope, scope_id)
    if scope is None:
        raise ScopeNotFound(f"no scope {scope_id!r}")
    return scope


def list_scopes(session: Session) -> list[Scope]:
    return list(session.scalars(select(Scope).order_by(Scope.id)))


def policy_of(scope: Scope) -> CutoverPolicy:
    return CutoverPolicy(
        cutover_minute=scope.cutover_minute,
        lead=timedelta(seconds=scope.lead_seconds),
        immediate=scope.immediate,
        business_days_only=scope.business_days_only,
    )


def calendar_for(session: Session, scope: Scope) -> BusinessCalendar:
    """Closed days are read only when the scope cares about business days (hot path)."""
    if not scope.business_days_only or scope.immediate:
        return BusinessCalendar()
    return BusinessCalendar(session.scalars(select(ClosedDay.day)))


def close_day(session: Session, clock: Clock, actor: Actor, day: date, reason: str) -> ClosedDay:
    """Declare a day closed (typhoon day): business-day scopes skip its cut-over.

    Effective times already answered stay as they were promised.
    """
    existing = session.get(ClosedDay, day)
    if existing is not None:
        existing.reason = reason
        return existing
    closed = ClosedDay(day=day, reason=reason)
    session.add(closed)
    audit.record(session, actor, clock.now(), "calendar.close_day", detail={"day": day.isoformat()})
    return closed


_SCOPES = cast(Table, Scope.__table__)
# Core, not ORM: the ORM would "synchronise" a possibly stale in-memory counter. Built once
# because it runs in every write.
_BUMP_SEQ = (
    update(_SCOPES)
    .where(_SCOPES.c.id == bindparam("scope"))
    .values(last_seq=_SCOPES.c.last_seq + bindparam("count"))
    .returning(_SCOPES.c.last_seq)
)


def next_seqs(session: Session, scope_id: str, count: int) -> range:
    """Reserve ``count`` change-feed numbers. Run last in a write: it locks the scope's counter
    until commit, so no reader can see seq 11 before 10."""
    last = session.execute(_BUMP_SEQ, {"scope": scope_id, "count": count}).scalar_one()
    return range(last - count + 1, last + 1)
