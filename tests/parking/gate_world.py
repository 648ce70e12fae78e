"""A world for gate tests: the registry world (scopes, agents cmj, pi, jko), lots with a known
tariff and their keys, bindings made effective, and events posted through the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platebind.parking import gates, keys
from platebind.parking.models import Lot, LotTariff, LprEvent, ParkingSession
from platebind.parking.schemas_gate import EventIn
from platebind.registry import service as registry
from platebind.registry.audit import Actor
from platebind.tariffs.payex import read_payex
from tests.conftest import ADMIN, Db
from tests.registry.test_cutover import tpe as tpe  # Taipei time, for the gate tests
from tests.registry.world import build_world

# 30 TWD an hour, every started half hour billed (15 TWD a unit), every day.
HALF_HOURLY = "計時：30元/時，全程以半小時計。"
# Not read (status "unread"): the fee is not known, so its exits go to the attendant.
UNREADABLE = "計時：每小時收費依現場公告。"
LOT = "TPE9001"
OTHER_LOT = "TPE9002"
SCOPE = "tpe-lots"


@dataclass(frozen=True)
class GateWorld:
    agent_keys: dict[str, str]
    lot_keys: dict[str, str]


def add_lot(
    session: Session,
    now: datetime,
    lot_id: str,
    payex: str = HALF_HOURLY,
    *,
    scope: str = SCOPE,
    threshold: float | None = None,
) -> None:
    """A lot with the tariff ``payex`` as the import reads it, one row per tariff class."""
    lot = Lot(id=lot_id, scope_id=scope, name=f"測試停車場 {lot_id}", payex=payex, imported_at=now)
    if threshold is not None:
        lot.confidence_threshold = threshold
    session.add(lot)
    session.flush()  # no ORM relationships: the lot must exist before its tariffs
    for tariff_class, reading in read_payex(payex).classes.items():
        doc = reading.as_dict()
        session.add(
            LotTariff(
                lot_id=lot_id,
                tariff_class=tariff_class.value,
                status=doc["status"],
                tariff=doc["tariff"],
                draft=doc["draft"],
                unread=doc["unread"],
                problems=doc["problems"],
                conflicts=doc["conflicts"],
            )
        )


def build_gate_world(db: Db, lots: dict[str, str] | None = None) -> GateWorld:
    """The registry world and ``lots`` (id → tariff text; default TPE9001 and TPE9002 at 30
    TWD an hour per half hour), each with a key."""
    agent_keys = build_world(db).keys
    lot_keys = {}
    with db.tx() as s:
        for lot_id, payex in (lots or {LOT: HALF_HOURLY, OTHER_LOT: HALF_HOURLY}).items():
            add_lot(s, db.clock.now(), lot_id, payex)
            lot_keys[lot_id] = keys.issue_lot_key(s, db.clock, ADMIN, lot_id)
    return GateWorld(agent_keys, lot_keys)


def bind(db: Db, agent_id: str, plate: str, vehicle_type: str = "car") -> uuid.UUID:
    """Bind in tpe-lots now (effective at the next 04:00 cut-over)."""
    with db.tx() as s:
        result = registry.bind(
            s,
            db.clock,
            Actor("agent", agent_id),
            agent_id=agent_id,
            scope_id=SCOPE,
            vehicle_type=vehicle_type,
            plate=plate,
        )
        return result.binding.id


def event(
    event_id: str,
    gate: str,
    plate: str,
    at: datetime,
    *,
    confidence: float = 0.97,
    vehicle_type: str = "car",
    **extra: Any,
) -> EventIn:
    return EventIn.model_validate(
        {
            "event_id": event_id,
            "gate": gate,
            "plate": plate,
            "vehicle_type": vehicle_type,
            "at": at,
            "confidence": confidence,
            **extra,
        }
    )


def post(db: Db, ev: EventIn, lot_id: str = LOT) -> dict[str, Any]:
    """Post through the service at the event's time (the clock moves there); the answer."""
    db.clock.set(ev.at)
    with db.tx() as s:
        answer = gates.post_event(s, db.clock, lot_id, ev)
    decoded: dict[str, Any] = orjson.loads(answer.body)
    return decoded


def session_row(db: Db, session_id: str | uuid.UUID) -> ParkingSession:
    with db.tx() as s:
        row = s.get(ParkingSession, uuid.UUID(str(session_id)))
        assert row is not None
        return row


def count(db: Db, model: type[Any]) -> int:
    with db.tx() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def counts(db: Db) -> dict[str, int]:
    """Rows a gate event may write, by table."""
    from platebind.billing.models import Bill, Charge
    from platebind.webhooks.models import OutboxEvent

    return {
        m.__tablename__: count(db, m) for m in (ParkingSession, LprEvent, Charge, Bill, OutboxEvent)
    }
