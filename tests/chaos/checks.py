"""The invariants a chaos run must keep, checked straight in the database after the last
restart, against what the clients saw and what the webhook receiver got.

Each check returns its violations as short descriptions (empty: kept). The registry's own
checks (no overlapping bindings, a gap-free change feed) come from ``tests.registry``.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platebind.api.models import IdempotencyRecord
from platebind.billing.models import Charge
from platebind.parking.models import LprEvent, ParkingSession
from platebind.registry.models import Binding, CycleRun
from platebind.webhooks.models import OutboxEvent
from tests.chaos.load import Answer
from tests.registry.invariants import overlapping_bindings, seq_gaps

Violations = list[str]


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _chunks(ids: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _bindings(session: Session, ids: set[str]) -> dict[str, Binding]:
    found: dict[str, Binding] = {}
    for chunk in _chunks([uuid.UUID(i) for i in ids]):
        found.update(
            {str(b.id): b for b in session.scalars(select(Binding).where(Binding.id.in_(chunk)))}
        )
    return found


def accepted_binds(session: Session, answers: Sequence[Answer]) -> Violations:
    """Every 200/201 bind answer is a binding in the database, as answered."""
    accepted = [a for a in answers if a.kind == "bind" and a.status in (200, 201)]
    rows = _bindings(session, {a.body["id"] for a in accepted})
    out = []
    for a in accepted:
        doc, row = a.body, rows.get(a.body["id"])
        if row is None:
            out.append(f"bind {doc['id']} answered {a.status} is missing")
        elif (row.agent_id, row.scope_id, row.plate, row.valid_from) != (
            a.caller, doc["scope"], doc["plate"], _when(doc["valid_from"])
        ):  # fmt: skip
            out.append(f"bind {doc['id']} differs from its answer")
    return out


def accepted_unbinds(session: Session, answers: Sequence[Answer]) -> Violations:
    """Every 202 unbind answer's end is the binding's ``valid_to`` in the database."""
    accepted = [a for a in answers if a.kind == "unbind" and a.status == 202]
    rows = _bindings(session, {a.body["id"] for a in accepted})
    out = []
    for a in accepted:
        row = rows.get(a.body["id"])
        if row is None or row.valid_to != _when(a.body["valid_to"]):
            out.append(f"unbind of {a.body['id']} answered 202 is not in the database")
    return out


def accepted_gate_events(session: Session, answers: Sequence[Answer]) -> Violations:
    """Every answered gate event is stored with exactly the answer sent, and its session
    exists."""
    accepted = [a for a in answers if a.kind == "gate" and a.status == 200]
    stored: dict[tuple[str, str], str] = {}
    for lot_id in {a.caller for a in accepted}:
        stmt = select(LprEvent.event_id, LprEvent.response).where(LprEvent.lot_id == lot_id)
        stored.update({(lot_id, e): r for e, r in session.execute(stmt)})
    sessions = {a.body["session_id"] for a in accepted if a.body["session_id"]}
    found: set[str] = set()
    for chunk in _chunks([uuid.UUID(s) for s in sessions]):
        ids = select(ParkingSession.id).where(ParkingSession.id.in_(chunk))
        found.update(str(i) for i in session.scalars(ids))
    out = []
    for a in accepted:
        assert a.request is not None
        response = stored.get((a.caller, a.request["event_id"]))
        if response is None or response.encode() != a.raw:
            out.append(f"gate event {a.caller}/{a.request['event_id']} lost or changed")
        if a.body["session_id"] and a.body["session_id"] not in found:
            out.append(f"session {a.body['session_id']} answered to a gate is missing")
    return out


def idempotency_records(session: Session, answers: Sequence[Answer]) -> Violations:
    """Every keyed answer (but a 429) is kept as sent, so a retry gets it back."""
    keyed = [a for a in answers if a.key is not None and a.status != 429]
    records: dict[str, IdempotencyRecord] = {}
    for chunk in _chunks([a.key for a in keyed]):
        stmt = select(IdempotencyRecord).where(IdempotencyRecord.key.in_(chunk))
        records.update({r.key: r for r in session.scalars(stmt)})
    out = []
    for a in keyed:
        assert a.key is not None
        record = records.get(a.key)
        if record is None or record.status_code != a.status or record.response.encode() != a.raw:
            out.append(f"{a.method} {a.path} key {a.key}: answer {a.status} not kept")
    return out


def card_free_charges(session: Session, answers: Sequence[Answer]) -> Violations:
    """Every card-free session let out at its exit has exactly one charge, the one it names,
    for the amount and agent the gate was told."""
    out = []
    counts: Counter[str] = Counter(
        session.scalars(
            select(Charge.source_id).where(
                Charge.source == "session", Charge.corrects_charge_id.is_(None)
            )
        )
    )
    charges = {
        c.source_id: c
        for c in session.scalars(select(Charge).where(Charge.source == "session"))
        if c.corrects_charge_id is None
    }
    exits = select(ParkingSession).where(
        ParkingSession.card_free.is_(True), ParkingSession.exit_action == "open"
    )
    for row in session.scalars(exits):
        key = str(row.id)
        if counts[key] != 1 or charges[key].id != row.charge_id:
            out.append(f"card-free session {key} let out with {counts[key]} charges")
    for a in answers:
        body = a.body if a.kind == "gate" and a.status == 200 else None
        if body and body["action"] == "open" and body["agent"] and body["amount"] is not None:
            charge = charges.get(body["session_id"])
            answered = (body["agent"], body["amount"])
            if charge is None or (charge.agent_id, charge.amount) != answered:
                out.append(f"exit of session {body['session_id']}: charge differs from answer")
    return out


def webhooks_delivered(session: Session, delivered: Counter[int]) -> Violations:
    """Every outbox event reached the receiver at least once and is marked delivered."""
    out = []
    for event_id, status in session.execute(select(OutboxEvent.id, OutboxEvent.status)):
        if delivered[event_id] < 1:
            out.append(f"outbox event {event_id} never reached the receiver ({status})")
        elif status != "delivered":
            out.append(f"outbox event {event_id} reached the receiver but is {status}")
    return out


def registry_overlaps(session: Session) -> Violations:
    return [
        f"{a.scope_id} {a.plate}: {a.id} overlaps {b.id}" for a, b in overlapping_bindings(session)
    ]


def feed_gaps(session: Session) -> Violations:
    return [f"{scope}: seq {n} missing" for scope, gap in seq_gaps(session).items() for n in gap]


def cycle_published(session: Session) -> Violations:
    """What took effect up to a scope's last finished cycle was published, once: every
    binding's ``binding.activated`` and (not cancelled) ``binding.ended``."""
    runs = select(CycleRun.scope_id, func.max(CycleRun.ran_at)).group_by(CycleRun.scope_id)
    last: dict[str, datetime] = dict(session.execute(runs).all())
    events: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    stmt = select(OutboxEvent.event_type, OutboxEvent.object_id, OutboxEvent.effective_at).where(
        OutboxEvent.event_type.in_(("binding.activated", "binding.ended"))
    )
    for event_type, object_id, effective_at in session.execute(stmt):
        events[(event_type, object_id)].add(effective_at)
    out = []
    for b in session.scalars(select(Binding).where(Binding.scope_id.in_(list(last)))):
        ran = last[b.scope_id]
        if b.valid_to is not None and b.valid_to == b.valid_from:
            continue  # cancelled: never took effect
        if b.valid_from <= ran and b.valid_from not in events[("binding.activated", str(b.id))]:
            out.append(f"binding {b.id} activated {b.valid_from} was never published")
        ended = b.valid_to is not None and b.valid_to <= ran
        if ended and b.valid_to not in events[("binding.ended", str(b.id))]:
            out.append(f"binding {b.id} ended {b.valid_to} was never published")
    return out


Check = Callable[[Session], Violations]


def database_checks(answers: Sequence[Answer], delivered: Counter[int]) -> dict[str, Check]:
    """The checks that read the database, by the name the report gives them."""
    return {
        "accepted_binds_missing": lambda s: accepted_binds(s, answers),
        "accepted_unbinds_missing": lambda s: accepted_unbinds(s, answers),
        "accepted_gate_events_missing": lambda s: accepted_gate_events(s, answers),
        "idempotency_answers_not_kept": lambda s: idempotency_records(s, answers),
        "card_free_exits_without_one_charge": lambda s: card_free_charges(s, answers),
        "overlapping_bindings": registry_overlaps,
        "change_feed_seq_gaps": feed_gaps,
        "outbox_events_undelivered": lambda s: webhooks_delivered(s, delivered),
        "cycle_effects_unpublished": cycle_published,
    }


def replay_differs(first: Answer, again: Answer | None) -> str | None:
    """A retry of an answered request must get the first answer back, byte for byte."""
    if again is None:
        return f"{first.method} {first.path}: retry unanswered"
    if (again.status, again.raw) != (first.status, first.raw):
        return (
            f"{first.method} {first.path}: retry answered {again.status} {again.raw[:120]!r}, "
            f"first {first.status} {first.raw[:120]!r}"
        )
    return None
