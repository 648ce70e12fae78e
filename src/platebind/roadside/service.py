"""The roadside set-up: each scope's rules, its street segments with their tariffs, and the
keys wardens' handhelds and smart meters post bills with. Services never commit."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.errors import InvalidInput
from platebind.plates import TariffClass
from platebind.registry import agents, audit
from platebind.registry.audit import Actor
from platebind.registry.scopes import get_scope
from platebind.roadside.errors import SegmentExists, SegmentNotFound
from platebind.roadside.models import RoadsideRulesRow, RoadsideSegment
from platebind.roadside.rules import RoadsideRules
from platebind.roadside.schemas import SEGMENT_PATTERN, RulesOut, SegmentOut
from platebind.tariffs.model import tariff_to_json
from platebind.tariffs.payex import read_payex

WARDEN_KEY = "warden"
WARDEN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def issue_warden_key(session: Session, clock: Clock, actor: Actor, warden_id: str) -> str:
    """A new key for a warden's handheld or a meter (``warden_id``); shown once."""
    if not WARDEN_ID.match(warden_id):
        raise InvalidInput("a warden id is 1-40 letters, digits, '-' or '_'", field="warden")
    key = agents.issue_key(session, clock, kind=WARDEN_KEY, subject_id=warden_id)
    audit.record(session, actor, clock.now(), "roadside.key_issue", object_id=warden_id)
    return key


# ---------------------------------------------------------------------------------------------
# Rules


def get_rules(session: Session, scope_id: str) -> RoadsideRules:
    """The scope's rules; the defaults when none were set (``scope_not_found`` for none)."""
    get_scope(session, scope_id)
    row = session.get(RoadsideRulesRow, scope_id)
    return RoadsideRules() if row is None else RoadsideRules.from_dict(row.rules)


def set_rules(
    session: Session, now: datetime, actor: Actor, scope_id: str, changes: dict[str, Any]
) -> RoadsideRules:
    """Change some of the scope's rules (``changes`` by ``RoadsideRules`` field); the others
    stay. Applies to bills issued from now (a bill's due date is fixed at issue)."""
    current = get_rules(session, scope_id)
    if isinstance(changes.get("day_boundary"), str):
        try:
            changes["day_boundary"] = time.fromisoformat(changes["day_boundary"])
        except ValueError as exc:
            raise InvalidInput("the day boundary is HH:MM", field="day_boundary") from exc
    try:
        rules = replace(current, **changes)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    row = session.get(RoadsideRulesRow, scope_id)
    if row is None:
        session.add(RoadsideRulesRow(scope_id=scope_id, rules=rules.as_dict(), updated_at=now))
    else:
        row.rules = rules.as_dict()
        row.updated_at = now
    audit.record(session, actor, now, "roadside.rules", scope_id=scope_id, detail=rules.as_dict())
    return rules


def rules_out(scope_id: str, rules: RoadsideRules) -> RulesOut:
    return RulesOut(scope=scope_id, **rules.as_dict())


# ---------------------------------------------------------------------------------------------
# Segments


def add_segment(
    session: Session,
    now: datetime,
    actor: Actor,
    *,
    segment_id: str,
    scope_id: str,
    name: str,
    payex: str,
) -> RoadsideSegment:
    """A street segment priced by ``payex``; refused unless its car tariff reads in full (a
    car's bill would have no fee otherwise)."""
    if not re.match(SEGMENT_PATTERN, segment_id):
        raise InvalidInput("a segment id is 1-32 letters, digits, '-' or '_'", field="id")
    name = name.strip()
    if not 0 < len(name) <= 200:
        raise InvalidInput("a segment's name is 1-200 characters", field="name")
    scope = get_scope(session, scope_id)
    if scope.kind != "roadside":
        raise InvalidInput(f"scope {scope_id} is not a roadside scope", field="scope")
    if session.get(RoadsideSegment, segment_id) is not None:
        raise SegmentExists(f"segment {segment_id} already exists")
    tariff = read_payex(payex).tariff_for(TariffClass.CAR)
    segment = RoadsideSegment(
        id=segment_id,
        scope_id=scope_id,
        name=name,
        payex=payex,
        tariff=tariff_to_json(tariff),
        created_at=now,
    )
    session.add(segment)
    audit.record(
        session, actor, now, "roadside.segment_add", scope_id=scope_id, object_id=segment_id
    )
    return segment


def get_segment(session: Session, segment_id: str) -> RoadsideSegment:
    segment = session.get(RoadsideSegment, segment_id)
    if segment is None:
        raise SegmentNotFound(f"no roadside segment {segment_id!r}")
    return segment


def list_segments(session: Session, scope_id: str | None = None) -> list[RoadsideSegment]:
    stmt = select(RoadsideSegment).order_by(RoadsideSegment.scope_id, RoadsideSegment.id)
    if scope_id is not None:
        stmt = stmt.where(RoadsideSegment.scope_id == scope_id)
    return list(session.scalars(stmt))


def segment_out(segment: RoadsideSegment) -> SegmentOut:
    return SegmentOut(
        id=segment.id,
        scope=segment.scope_id,
        name=segment.name,
        payex=segment.payex,
        car_tariff=segment.tariff,
    )
