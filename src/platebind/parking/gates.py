"""LPR events at a lot's gates: the facts gathered in few round trips (``parking.events``), the
pure rules (``parking.rules``) applied, the decision written with its session, charge or bill
and webhooks in the caller's transaction. Services never commit.

On PostgreSQL round trips, not fsync, set a gate's cost (DESIGN "Performance budget"), so an
event costs, besides ``BEGIN`` and ``COMMIT``:

1. the lot, its tariff for the event's class and a transaction lock on (lot, plate read): one
   statement. The lock serialises the events of one plate at one lot — two identical events
   racing, an entry racing its duplicate — until commit (SQLite's writer lock already does);
2. after the lock: the event's first answer if it was seen before, and the lot's open sessions
   the read may belong to (exact and confusable ones share ``plate_key``): one statement. A
   repeat ends here with its first answer, byte for byte, and writes nothing;
3. at an entry, the plate's binding at the event's time and its agent (two look-ups, skipped
   when the answer cannot depend on them);
4. the writes: at an exit the charge or bill first, then the session, the outbox events and
   the event with its answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from platebind.billing import bills
from platebind.billing.charges import request_charge
from platebind.clock import Clock
from platebind.parking import events
from platebind.parking.events import LotFacts, Read
from platebind.parking.models import ParkingSession
from platebind.parking.rules import (
    EntryDecision,
    ExitDecision,
    Gate,
    Holder,
    Match,
    OpenSession,
    Settlement,
    decide_entry,
    decide_exit,
    fuzzy_key,
    match_exit,
)
from platebind.parking.schemas_gate import EventIn
from platebind.parking.sessions import place_of, session_event
from platebind.plates import TariffClass
from platebind.registry import agents, queries
from platebind.registry.service import plate_key

# A session's outcome when an exit closes it.
_OUTCOMES = {Settlement.CHARGE: "charged", Settlement.FREE: "free", Settlement.BILL: "unpaid"}


@dataclass(frozen=True)
class Answer:
    """The gate's decision as sent (exact bytes), and whether it is a repeat's first answer."""

    body: bytes
    replayed: bool


def post_event(session: Session, clock: Clock, lot_id: str, event: EventIn) -> Answer:
    """Decide an LPR event of ``lot_id`` (see the module); idempotent per (lot, event id): a
    repeat gets the first answer and changes nothing, a reused id with another read is
    ``event_id_reused``."""
    read = events.read_event(event, clock.now())
    lot = events.lock_lot_plate(session, lot_id, read)
    seen, inside = events.seen_and_inside(session, lot_id, read)
    if seen is not None:
        return Answer(events.check_repeat(lot_id, event, seen), replayed=True)
    if event.gate is Gate.ENTRY:
        answer, row = _enter(session, lot, read, inside)
    else:
        answer, row = _exit(session, lot, read, inside)
    body = orjson.dumps(answer)
    events.record_event(session, lot_id, read, answer, None if row is None else row.id, body)
    return Answer(body, replayed=False)


def _open_session(row: ParkingSession) -> OpenSession:
    return OpenSession(
        id=row.id,
        plate=row.plate,
        tariff_class=TariffClass(row.vehicle_type),
        entered_at=row.entered_at,
        card_free=row.card_free,
        agent_id=row.agent_id,
    )


def _answer(
    action: str, row: ParkingSession | None, amount: int | None, flags: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "action": action,
        "session_id": None if row is None else str(row.id),
        "amount": amount,
        "agent": row.agent_id if row is not None and row.card_free else None,
        "flags": list(flags),
    }


# ---------------------------------------------------------------------------------------------
# Entry


def _holder(session: Session, lot: LotFacts, read: Read) -> Holder | None:
    """The plate's binding in the lot's scope at the event's time, and whether its agent can
    pay; not looked up when the answer cannot depend on it."""
    reading = read.reading
    if read.plate is None:
        return None
    if reading.confidence < lot.threshold and reading.decided is None:
        return None
    key = plate_key(lot.scope_id, read.event.vehicle_type, read.plate)
    binding = queries.holder_at(session, key, reading.at)
    if binding is None:
        return None
    agent = agents.get_agent(session, binding.agent_id)
    return Holder(binding.id, binding.agent_id, agent.status == "active")


def _enter(
    session: Session, lot: LotFacts, read: Read, inside: dict[uuid.UUID, ParkingSession]
) -> tuple[dict[str, Any], ParkingSession | None]:
    holder = _holder(session, lot, read)
    facts = [_open_session(row) for row in inside.values()]
    decision = decide_entry(read.reading, lot.threshold, holder, facts)
    flags = tuple(flag.value for flag in decision.flags)
    if not decision.opens_session:
        return _answer(decision.action.value, None, None, flags), None
    row = _new_session(lot, read, decision, flags)
    session.add(row)
    for duplicate in decision.duplicates:
        other = inside[duplicate]
        if "duplicate_entry" not in other.flags:
            other.flags = [*other.flags, "duplicate_entry"]
    if row.card_free:
        session_event(session, "session.entered", row, read.now)
    return _answer(decision.action.value, row, None, flags), row


def _new_session(
    lot: LotFacts, read: Read, decision: EntryDecision, flags: tuple[str, ...]
) -> ParkingSession:
    assert read.plate is not None
    holder = decision.holder
    return ParkingSession(
        id=uuid.uuid4(),
        lot_id=lot.id,
        scope_id=lot.scope_id,
        vehicle_type=read.event.vehicle_type.value,
        binding_type=read.binding_type,
        plate=read.plate,
        plate_key=fuzzy_key(read.plate),
        status="open",
        card_free=decision.card_free,
        agent_id=None if holder is None else holder.agent_id,
        binding_id=None if holder is None else holder.binding_id,
        entered_at=read.event.at,
        entry_event_id=read.event.event_id,
        flags=list(flags),
    )


# ---------------------------------------------------------------------------------------------
# Exit


def _exit(
    session: Session, lot: LotFacts, read: Read, inside: dict[uuid.UUID, ParkingSession]
) -> tuple[dict[str, Any], ParkingSession | None]:
    found = match_exit(read.reading, [_open_session(row) for row in inside.values()])
    tariff = lot.tariff
    if found.session is not None and found.session.tariff_class is not read.event.vehicle_type:
        # Read as another class at the exit: the fee is the class read at entry's.
        tariff = events.lot_tariff(session, lot.id, found.session.tariff_class.value)
    decision = decide_exit(read.reading, lot.threshold, found, tariff)
    flags = tuple(flag.value for flag in decision.flags)
    if decision.session is None:
        return _answer(decision.action.value, None, None, flags), None
    row = inside[decision.session.id]
    _settle_exit(session, lot, read, decision, row, flags)
    return _answer(decision.action.value, row, decision.amount, flags), row


def _settle_exit(
    session: Session,
    lot: LotFacts,
    read: Read,
    decision: ExitDecision,
    row: ParkingSession,
    flags: tuple[str, ...],
) -> None:
    """The money first (its insert flushes nothing of the session), then the session once."""
    event, now = read.event, read.now
    charge_id = bill_id = None
    if decision.settlement is Settlement.CHARGE:
        charge_id = _charge(session, lot, read, decision, row)
    elif decision.settlement is Settlement.BILL:
        assert decision.amount is not None
        bill_id = bills.open_bill(
            session, now, vehicle_type=row.vehicle_type, plate=row.plate, amount=decision.amount,
            kind="lot", reason="unpaid_exit", source="session", source_id=str(row.id),
            place=place_of(lot.id, lot.name), started_at=row.entered_at, ended_at=event.at,
        ).id  # fmt: skip
    closed = decision.settlement in _OUTCOMES
    row.status = "closed" if closed else "exiting"
    row.exited_at, row.exit_event_id = event.at, event.event_id
    row.exit_action = decision.action.value
    row.match = None if decision.match is None else decision.match.value
    row.exit_read, row.amount = event.plate, decision.amount
    row.outcome = _OUTCOMES.get(decision.settlement)
    row.charge_id, row.bill_id = charge_id, bill_id
    row.closed_at = now if closed else None
    row.flags = list(dict.fromkeys([*row.flags, *flags]))
    if row.card_free:
        session_event(session, "session.exited", row, now)


def _charge(
    session: Session, lot: LotFacts, read: Read, decision: ExitDecision, row: ParkingSession
) -> uuid.UUID:
    """The card-free stay's charge, to the agent stored on the session at entry."""
    assert row.agent_id is not None
    assert decision.amount is not None
    return request_charge(
        session, read.now, agent_id=row.agent_id, scope_id=row.scope_id,
        vehicle_type=row.vehicle_type, plate=row.plate, amount=decision.amount,
        source="session", source_id=str(row.id), place=place_of(lot.id, lot.name),
        started_at=row.entered_at, ended_at=read.event.at,
        match=(decision.match or Match.EXACT).value, raw_plate=read.event.plate,
    ).id  # fmt: skip
