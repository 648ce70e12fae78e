"""Gate events racing on PostgreSQL: identical events, and entries of one plate under
different event ids, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import orjson
import pytest
from sqlalchemy import select

from platebind.billing.models import Charge
from platebind.parking import gates
from platebind.parking.gates import Answer
from platebind.parking.models import ParkingSession
from platebind.parking.schemas_gate import EventIn
from tests.conftest import Db
from tests.parking.gate_world import LOT, bind, build_gate_world, count, counts, event, tpe

pytestmark = pytest.mark.postgres
RACERS = 12
IN = tpe("2026-11-27 08:00")
OUT = tpe("2026-11-27 10:10")
T = TypeVar("T")


@pytest.fixture
def world(pg_db: Db) -> Db:
    build_gate_world(pg_db)
    bind(pg_db, "cmj", "ABC-1234")
    pg_db.clock.set(IN)
    return pg_db


def race(work: list[Callable[[], T]]) -> list[T]:
    barrier = threading.Barrier(len(work))

    def run(item: Callable[[], T]) -> T:
        barrier.wait()
        return item()

    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(run, work))


def poster(db: Db, ev: EventIn) -> Callable[[], Answer]:
    def post() -> Answer:
        with db.tx() as s:
            return gates.post_event(s, db.clock, LOT, ev)

    return post


def test_identical_events_racing_open_one_session_and_answer_alike(world: Db) -> None:
    ev = event("e1", "entry", "ABC-1234", IN)
    answers = race([poster(world, ev)] * RACERS)
    assert len({a.body for a in answers}) == 1
    assert sorted(a.replayed for a in answers) == [False] + [True] * (RACERS - 1)
    assert counts(world)["parking_sessions"] == 1
    assert counts(world)["lpr_events"] == 1
    assert counts(world)["outbox_events"] == 1 + 1  # the binding's scheduled event, entered

    world.clock.set(OUT)
    exit_ = event("x1", "exit", "ABC-1234", OUT)
    exits = race([poster(world, exit_)] * RACERS)
    assert len({a.body for a in exits}) == 1
    assert orjson.loads(exits[0].body)["amount"] == 75
    with world.tx() as s:
        (charge,) = s.scalars(select(Charge))
    assert charge.agent_id == "cmj"


def test_entries_of_one_plate_racing_under_other_ids_are_all_flagged(world: Db) -> None:
    work = [poster(world, event(f"e{i}", "entry", "ABC-1234", IN)) for i in range(RACERS)]
    answers = [orjson.loads(a.body) for a in race(work)]
    assert count(world, ParkingSession) == RACERS
    # One of them was first (no flag); every later one saw the sessions before it.
    flagged = [a for a in answers if a["flags"] == ["duplicate_entry"]]
    assert len(flagged) == RACERS - 1
    with world.tx() as s:
        rows = list(s.scalars(select(ParkingSession)))
    assert all(row.flags == ["duplicate_entry"] for row in rows)


def test_an_exact_read_and_a_misread_racing_at_the_exit_close_the_stay_once(world: Db) -> None:
    entry = poster(world, event("e1", "entry", "ABC-1234", IN))()
    world.clock.set(OUT)
    reads = ["ABC-1234", "A8C1234", "ABC1Z34", "A8C-I234"] * (RACERS // 4)
    work = [poster(world, event(f"x{i}", "exit", plate, OUT)) for i, plate in enumerate(reads)]
    answers = [orjson.loads(a.body) for a in race(work)]
    opened = [a for a in answers if a["action"] == "open"]
    assert len(opened) == 1
    assert opened[0]["session_id"] == orjson.loads(entry.body)["session_id"]
    assert all(a["flags"][-1] == "no_open_session" for a in answers if a not in opened)
    with world.tx() as s:
        (charge,) = s.scalars(select(Charge))
    assert (charge.agent_id, charge.amount) == ("cmj", 75)
