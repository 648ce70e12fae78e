"""The one-agent-per-plate rule under concurrent writes on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from platebind.errors import DomainError
from platebind.registry import agents, service, transfers
from platebind.registry.audit import Actor
from platebind.registry.models import Binding
from platebind.registry.rules import EndReason
from tests.conftest import ADMIN, Db
from tests.registry.invariants import overlapping_bindings, seq_gaps
from tests.registry.world import build_world

pytestmark = pytest.mark.postgres
THREADS = 24


@pytest.fixture
def racers(pg_db: Db) -> list[str]:
    build_world(pg_db)
    ids = [f"agent-{i:02d}" for i in range(THREADS)]
    with pg_db.tx() as s:
        for agent_id in ids:
            agents.add_agent(
                s,
                pg_db.clock,
                ADMIN,
                agent_id=agent_id,
                name=agent_id,
                scopes=["tpe-lots", "instant"],
            )
    return ids


def race(db: Db, work: Sequence[tuple[str, str, str | None]]) -> list[str]:
    """Run binds at once (released together by a barrier); the outcome code of each."""
    barrier = threading.Barrier(len(work))

    def attempt(item: tuple[str, str, str | None]) -> str:
        agent_id, plate, code = item
        barrier.wait()
        try:
            with db.tx() as s:
                result = service.bind(
                    s,
                    db.clock,
                    Actor("agent", agent_id),
                    agent_id=agent_id,
                    scope_id="tpe-lots",
                    vehicle_type="car",
                    plate=plate,
                    transfer_code=code,
                )
                return "created" if result.created else "existing"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(attempt, work))


def invariants_hold(db: Db) -> None:
    with db.tx() as s:
        assert overlapping_bindings(s) == []
        assert seq_gaps(s) == {}


def test_many_agents_binding_one_plate_at_once_leaves_exactly_one(
    pg_db: Db, racers: list[str]
) -> None:
    outcomes = race(pg_db, [(a, "RAC-1234", None) for a in racers])
    assert Counter(outcomes) == {"created": 1, "plate_bound_elsewhere": THREADS - 1}
    with pg_db.tx() as s:
        assert s.scalar(select(func.count()).select_from(Binding)) == 1
    invariants_hold(pg_db)


def test_one_agent_binding_one_plate_at_once_gets_one_binding(pg_db: Db, racers: list[str]) -> None:
    outcomes = race(pg_db, [("agent-00", "RAC-1234", None)] * THREADS)
    assert Counter(outcomes) == {"created": 1, "existing": THREADS - 1}
    invariants_hold(pg_db)


def test_racing_transfers_with_one_code_move_the_plate_once(pg_db: Db, racers: list[str]) -> None:
    race(pg_db, [("agent-00", "RAC-1234", None)])
    with pg_db.tx() as s:
        code = transfers.issue(s, pg_db.clock, ADMIN, "tpe-lots", "car", "RAC-1234").code
    outcomes = race(pg_db, [(a, "RAC-1234", code) for a in racers[1:]])
    assert outcomes.count("created") == 1
    assert set(outcomes) <= {"created", "plate_bound_elsewhere", "transfer_code_invalid"}
    invariants_hold(pg_db)


def test_mixed_traffic_on_many_plates_keeps_the_feed_gap_free(pg_db: Db, racers: list[str]) -> None:
    plates = [f"MXA-{n:04d}" for n in range(1, 9)]
    work = [(racers[i], plates[i % len(plates)], None) for i in range(THREADS)]
    outcomes = race(pg_db, work)
    assert outcomes.count("created") == len(plates)
    pg_db.clock.advance(timedelta(days=2))

    def unbind(agent_id: str) -> None:
        with pg_db.tx() as s:
            for b in service.agent_open_bindings(s, agent_id):
                service.end_binding(s, pg_db.clock, Actor("agent", agent_id), b, EndReason.UNBOUND)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(unbind, racers))
    second = race(pg_db, [(racers[-1 - i], plates[i % len(plates)], None) for i in range(THREADS)])
    assert second.count("created") == len(plates)  # queued behind every ending binding
    invariants_hold(pg_db)
