"""The LPR event record and the facts a gate decision needs, each in as few round trips as
possible (see ``parking.gates`` for the whole path of an event).

Statements are built once: building a SQLAlchemy statement costs more than running it on
SQLite. Values go in as bound parameters.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from platebind import plates
from platebind.db import created_at_default, dialect_name
from platebind.parking.errors import LotNotFound
from platebind.parking.gate_errors import EventIdReused, EventTimeInvalid
from platebind.parking.models import Lot, LotTariff, LprEvent, ParkingSession
from platebind.parking.rules import Reading, fuzzy_key, is_late
from platebind.parking.schemas_gate import EventIn
from platebind.tariffs.model import Tariff, tariff_from_json

# Further than this from its receipt, an event is refused (a gate's clock gone wrong, or a
# replay of another year): the fee of an absurd stay is never computed.
PLAUSIBLE_WITHIN = timedelta(days=366)


@dataclass(frozen=True)
class LotFacts:
    id: str
    scope_id: str
    name: str
    threshold: float
    tariff: Tariff | None  # for the event's tariff class, when read in full


@dataclass(frozen=True)
class Read:
    """The event with its plate worked out (``plate`` None: not a valid plate; ``key`` the
    read's ``fuzzy_key``), the reading the rules see, and when it was received."""

    event: EventIn
    binding_type: str
    plate: str | None
    key: str
    reading: Reading
    now: datetime


@dataclass(frozen=True)
class Seen:
    """A repeated event: what made it, and the answer first sent (exact text)."""

    request_hash: str
    response: str


def read_event(event: EventIn, now: datetime) -> Read:
    if abs(now - event.at) > PLAUSIBLE_WITHIN:
        raise EventTimeInvalid(
            f"the event's time {event.at.isoformat()} is more than a year from now", field="at"
        )
    text = plates.normalise_plate(event.plate)
    try:
        plate: str | None = plates.canonical_plate(text, event.vehicle_type)
    except plates.InvalidPlate:
        plate = None
    reading = Reading(
        gate=event.gate,
        plate=plate,
        text=text,
        tariff_class=event.vehicle_type,
        at=event.at,
        confidence=event.confidence,
        decided=event.decided_action,
        late=is_late(event.at, now, event.replayed),
    )
    binding_type = plates.binding_type(event.vehicle_type).value
    return Read(event, binding_type, plate, fuzzy_key(text), reading, now)


def request_hash(event: EventIn) -> str:
    """What makes a repeat the same event: the read's facts (the plate as normalised, the
    instant whatever its offset). Not what a lot catching up may add to an event it posted
    before (``decided_action``, ``replayed``, the image reference): such a repeat gets the
    first answer, which is what the server recorded."""
    facts = (
        f"{event.gate.value}|{plates.normalise_plate(event.plate)}|{event.vehicle_type.value}|"
        f"{event.at.isoformat()}|{event.confidence!r}"
    )
    return hashlib.sha256(facts.encode()).hexdigest()


def tariff_of(status: str | None, document: dict[str, Any] | None) -> Tariff | None:
    """The tariff of a ``lot_tariffs`` reading, only when it was read in full."""
    return tariff_from_json(document) if status == "full" and document else None


# ---------------------------------------------------------------------------------------------
# 1. The lot, and the lock


@cache
def _lot_statement(dialect: str) -> Any:
    lock = (
        func.pg_advisory_xact_lock(func.hashtext(bindparam("lock")))
        if dialect == "postgresql"
        else literal(None)
    )
    return (
        select(
            Lot.scope_id,
            Lot.name,
            Lot.confidence_threshold,
            LotTariff.status,
            LotTariff.tariff,
            lock.label("locked"),
        )
        .select_from(Lot)
        .outerjoin(
            LotTariff,
            and_(LotTariff.lot_id == Lot.id, LotTariff.tariff_class == bindparam("tariff_class")),
        )
        .where(Lot.id == bindparam("lot_id"))
    )


def lock_lot_plate(session: Session, lot_id: str, read: Read) -> LotFacts:
    """The lot and its tariff for the event's class, read in the statement that takes the
    transaction's lock on (lot, plate read) on PostgreSQL: events of one plate at one lot are
    decided one at a time (SQLite's writer lock already serialises everything). The lock is
    on the read's ``fuzzy_key``, so every read that could match one session — exact or
    confusable — takes the same lock, and one session is never closed twice at once."""
    params = {
        "lot_id": lot_id,
        "tariff_class": read.event.vehicle_type.value,
        "lock": f"gate|{lot_id}|{read.binding_type}|{read.key}",
    }
    row = session.execute(_lot_statement(dialect_name(session)), params).first()
    if row is None:
        raise LotNotFound(f"no parking lot {lot_id!r}")
    scope_id, name, threshold, status, document, _locked = row
    return LotFacts(lot_id, scope_id, name, threshold, tariff_of(status, document))


_TARIFF = select(LotTariff.status, LotTariff.tariff).where(
    LotTariff.lot_id == bindparam("lot_id"), LotTariff.tariff_class == bindparam("tariff_class")
)


def lot_tariff(session: Session, lot_id: str, tariff_class: str) -> Tariff | None:
    row = session.execute(_TARIFF, {"lot_id": lot_id, "tariff_class": tariff_class}).first()
    return None if row is None else tariff_of(row.status, row.tariff)


# ---------------------------------------------------------------------------------------------
# 2. After the lock: the event's first answer, and the sessions the read may belong to

# One row to hang two outer joins on: the event's first answer (at most one row) and the
# lot's open sessions with the read's key (any number), in one round trip.
_ONE = select(literal(1).label("one")).subquery("one")
_SEEN_AND_INSIDE = (
    select(LprEvent.request_hash, LprEvent.response, ParkingSession)
    .select_from(_ONE)
    .outerjoin(
        LprEvent,
        and_(
            LprEvent.lot_id == bindparam("lot_id"),
            LprEvent.event_id == bindparam("event_id"),
        ),
    )
    .outerjoin(
        ParkingSession,
        and_(
            ParkingSession.lot_id == bindparam("lot_id"),
            ParkingSession.binding_type == bindparam("binding_type"),
            ParkingSession.plate_key == bindparam("plate_key"),
            ParkingSession.status == "open",
        ),
    )
    .execution_options(populate_existing=True)
)


def seen_and_inside(
    session: Session, lot_id: str, read: Read
) -> tuple[Seen | None, dict[uuid.UUID, ParkingSession]]:
    """The event as first posted (None: new), and the lot's open sessions of the plate's
    identity whose plate is the read or confusable with it (``plate_key``)."""
    params = {
        "lot_id": lot_id,
        "event_id": read.event.event_id,
        "binding_type": read.binding_type,
        "plate_key": read.key,
    }
    rows = session.execute(_SEEN_AND_INSIDE, params).all()
    first_hash, first_response = rows[0][0], rows[0][1]
    seen = None if first_response is None else Seen(first_hash, first_response)
    return seen, {row[2].id: row[2] for row in rows if row[2] is not None}


def check_repeat(lot_id: str, event: EventIn, seen: Seen) -> bytes:
    """The first answer to a repeated event, or ``event_id_reused`` for another read."""
    if seen.request_hash != request_hash(event):
        raise _reused(lot_id, event)
    return seen.response.encode()


def _reused(lot_id: str, event: EventIn) -> EventIdReused:
    return EventIdReused(
        f"lot {lot_id} already posted event {event.event_id!r} with another read",
        event_id=event.event_id,
    )


# ---------------------------------------------------------------------------------------------
# 4. The record

# Core, on the connection: the ORM's bulk-insert path costs more than the insert itself.
_INSERT_EVENT = insert(cast(Table, LprEvent.__table__))


def record_event(
    session: Session,
    lot_id: str,
    read: Read,
    answer: dict[str, Any],
    session_id: uuid.UUID | None,
    body: bytes,
) -> None:
    """Keep the event with the answer sent (its exact bytes, for repeats). Flushes what the
    decision wrote first: the event refers to its session."""
    event = read.event
    values = {
        "lot_id": lot_id,
        "event_id": event.event_id,
        "gate": event.gate.value,
        "plate_read": event.plate,
        "plate": read.plate,
        "vehicle_type": event.vehicle_type.value,
        "at": event.at,
        "confidence": event.confidence,
        "decided_action": event.decided_action,
        "replayed": event.replayed,
        "image_ref": event.image_ref,
        "received_at": read.now,
        "request_hash": request_hash(event),
        "action": answer["action"],
        "session_id": session_id,
        "amount": answer["amount"],
        "agent_id": answer["agent"],
        "flags": answer["flags"],
        "response": body.decode(),
        "created_at": created_at_default(),
    }
    session.flush()
    try:
        session.connection().execute(_INSERT_EVENT, values)
    except IntegrityError:
        # The same id with another read, racing this one under another plate's lock.
        raise _reused(lot_id, event) from None
