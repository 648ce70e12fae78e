"""The event replay: a day of realistic LPR traffic at six lots posted through the real API in
time order (2,000 events in ``make test``; ``make chaos`` replays 10,000:
``PLATEBIND_REPLAY_EVENTS``), then posted again shuffled and with duplicates: every repeat is
answered with its first answer byte for byte, and the sessions, events, charges, bills,
webhooks and the agents' statements of the day are exactly as they were."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.billing import charges, statements
from platebind.billing.models import Bill, Charge, SettleEvent
from platebind.parking.keys import issue_lot_key
from platebind.parking.models import LprEvent, ParkingSession
from platebind.registry import service as registry
from platebind.registry.audit import Actor
from platebind.simulation.traffic import (
    PlatePool,
    Read,
    Shares,
    SimLot,
    plan_traffic,
    unbound_plate,
)
from platebind.webhooks.models import OutboxEvent
from tests.api.conftest import LiveServer
from tests.conftest import ADMIN, Db
from tests.parking.gate_world import HALF_HOURLY, add_lot, tpe
from tests.registry.world import build_world

EVENTS = int(os.environ.get("PLATEBIND_REPLAY_EVENTS", "2000"))
# Cars at 30 TWD an hour per started half hour, motorcycles 20 TWD an entry.
BOTH = "汽車計時：30元/時，全程以半小時計；機車計次：20元/次。"
LOTS = {f"TPE91{n:02d}": BOTH for n in range(1, 6)} | {"TPE9106": HALF_HOURLY}
AGENTS = ("cmj", "pi", "jko")
START = tpe("2026-11-27 00:00")
SETTLED = tpe("2026-11-28 01:00")
DAY = date(2026, 11, 28)


def bind_plates(db: Db, rng: random.Random) -> list[tuple[str, str]]:
    """600 cars and 200 motorcycles bound in tpe-lots, effective 2026-11-27 04:00."""
    bound = []
    with db.tx() as s:
        for n in range(800):
            vehicle_type = "car" if n < 600 else "motorcycle"
            plate, agent = unbound_plate(rng), AGENTS[n % len(AGENTS)]
            registry.bind(
                s, db.clock, Actor("agent", agent), agent_id=agent, scope_id="tpe-lots",
                vehicle_type=vehicle_type, plate=plate,
            )  # fmt: skip
            bound.append((vehicle_type, plate))
    return bound


def traffic(db: Db) -> tuple[list[Read], dict[str, str]]:
    """The day's first ``EVENTS`` reads, and a key per lot."""
    rng = random.Random(2026)
    build_world(db)
    with db.tx() as s:
        for lot_id, payex in LOTS.items():
            add_lot(s, db.clock.now(), lot_id, payex)
    with db.tx() as s:
        keys = {lot_id: issue_lot_key(s, db.clock, ADMIN, lot_id) for lot_id in LOTS}
    pool = PlatePool(rng, bind_plates(db, rng), Shares())
    lots = [
        SimLot(lot_id, ("car", "motorcycle") if p == BOTH else ("car",))
        for lot_id, p in LOTS.items()
    ]
    reads = plan_traffic(rng, lots, pool, START, 24, 80)
    assert len(reads) >= EVENTS
    return reads[:EVENTS], keys


def post(client: httpx.Client, key: str, read: Read, **extra: Any) -> httpx.Response:
    body = {"event_id": read.event_id, "gate": read.gate, "plate": read.plate,
            "vehicle_type": read.vehicle_type, "at": read.at.isoformat(),
            "confidence": read.confidence, **extra}  # fmt: skip
    return client.post(
        f"/v1/lots/{read.lot_id}/events", json=body, headers={"Authorization": f"Bearer {key}"}
    )


def snapshot(db: Db) -> dict[str, Any]:
    """Every row the gates and billing wrote, and each agent's statement of the day."""
    with db.tx() as s:
        tables: dict[str, Any] = {
            model.__tablename__: [_row(r) for r in s.scalars(select(model).order_by(*order))]
            for model, order in (
                (ParkingSession, (ParkingSession.id,)),
                (LprEvent, (LprEvent.lot_id, LprEvent.event_id)),
                (Charge, (Charge.id,)),
                (Bill, (Bill.id,)),
                (SettleEvent, (SettleEvent.id,)),
                (OutboxEvent, (OutboxEvent.id,)),
            )
        }
        tables["statements"] = {agent: _statement(s, agent) for agent in AGENTS}
    return tables


def _row(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def _statement(session: Session, agent: str) -> bytes:
    statement = statements.statement_of(agent, DAY, SETTLED + timedelta(days=1))
    return b"".join(statements.stream(session, statement, "json"))


def settle_all(db: Db) -> tuple[int, int]:
    """The agents answer every charge: most paid, one in ten declined (bills)."""
    db.clock.set(SETTLED)
    paid = declined = 0
    with db.tx() as s:
        requested = s.scalars(
            select(Charge).where(Charge.status == "requested").order_by(Charge.id)
        )
        for n, charge in enumerate(list(requested)):
            outcome = "declined" if n % 10 == 0 else "paid"
            charges.settle(
                s, db.clock.now(), charge.agent_id, charge.id, outcome,
                reference=f"ref-{n}" if outcome == "paid" else None,
            )  # fmt: skip
            paid, declined = paid + (outcome == "paid"), declined + (outcome == "declined")
    return paid, declined


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=30, trust_env=False) as made:
        yield made


# 2 x EVENTS requests through a live server: minutes for 10,000, not seconds.
@pytest.mark.timeout(1200)
def test_the_same_stream_posted_again_shuffled_changes_nothing(
    db: Db, client: httpx.Client
) -> None:
    reads, keys = traffic(db)
    first: dict[tuple[str, str], bytes] = {}
    actions: dict[str, int] = {}
    flags: set[str] = set()
    for read in reads:
        db.clock.set(read.at)
        answer = post(client, keys[read.lot_id], read)
        assert answer.status_code == 200, answer.text
        first[(read.lot_id, read.event_id)] = answer.content
        decision = answer.json()
        key = f"{read.gate}:{decision['action']}"
        actions[key] = actions.get(key, 0) + 1
        flags.update(decision["flags"])
    # A realistic day: card-free and ticket entries, charges, pay stations, the attendant.
    assert {"entry:open", "entry:ticket", "exit:open", "exit:pay", "exit:attendant"} <= set(actions)
    assert {"fuzzy_match", "low_confidence"} <= flags
    paid, declined = settle_all(db)
    assert paid > EVENTS // 10
    assert declined > EVENTS // 100
    before = snapshot(db)

    rng = random.Random(7)
    again = reads + rng.sample(reads, EVENTS // 10)
    rng.shuffle(again)
    db.clock.set(SETTLED + timedelta(hours=1))
    for read in again:
        answer = post(client, keys[read.lot_id], read, replayed=True)
        assert answer.content == first[(read.lot_id, read.event_id)]
        assert answer.headers["idempotent-replayed"] == "true"
    after = snapshot(db)
    assert after == before
    assert len(before["lpr_events"]) == EVENTS
    assert any(b'"kind":"declined"' in s for s in before["statements"].values())
