"""The simulator against the real gate API on a server it starts (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from platebind.billing.models import Charge
from platebind.data import TAIPEI_FEED
from platebind.parking import service as lots
from platebind.parking.models import ParkingSession
from platebind.registry import service
from platebind.registry.audit import Actor
from platebind.simulation.run import Plan, simulate
from tests.conftest import ADMIN, Db
from tests.registry.test_cutover import tpe
from tests.registry.world import build_world

START = tpe("2026-11-27 06:00")  # Friday morning: the bindings below are active


def _world(db: Db) -> None:
    build_world(db)
    with db.tx() as s:
        lots.import_taipei(s, db.clock, ADMIN, lots.read_feed(TAIPEI_FEED), "tpe-lots")
        for n in range(1, 40):
            agent = ("cmj", "pi", "jko")[n % 3]
            service.bind(
                s,
                db.clock,
                Actor("agent", agent),
                agent_id=agent,
                scope_id="tpe-lots",
                vehicle_type="car",
                plate=f"SMU-{n:04d}",
            )


def _counts(db: Db) -> tuple[int, int, int]:
    with db.tx() as s:
        sessions = s.scalar(select(func.count()).select_from(ParkingSession)) or 0
        charges = s.scalar(select(func.count()).select_from(Charge)) or 0
        amount = s.scalar(select(func.coalesce(func.sum(Charge.amount), 0))) or 0
    return sessions, charges, amount


def test_simulated_traffic_goes_through_the_gates_and_the_agents_answer(db: Db) -> None:
    _world(db)
    plan = Plan(lots=3, hours=6, rate=8, start=START, seed=3)
    summary = simulate(db.url, plan)
    assert len(summary.lots) == 3
    entries = sum(n for action, n in summary.actions.items() if action.startswith("entry:"))
    exits = summary.events - entries
    assert entries > 20
    assert exits > 5
    assert summary.actions["entry:open"] > 0  # bound plates enter card-free
    assert summary.actions["entry:ticket"] > 0  # visitors take a ticket
    sessions, charges, amount = _counts(db)
    assert sessions >= entries - summary.actions["entry:attendant"]
    # Every card-free exit charged its agent once; the agents answered every charge.
    assert charges == summary.charges == summary.actions["exit:open"]
    assert summary.paid + summary.declined == summary.charges
    assert amount == summary.charged_amount > 0


def test_running_the_same_simulation_again_changes_nothing(db: Db) -> None:
    _world(db)
    plan = Plan(lots=2, hours=4, rate=8, start=START, seed=5)
    first = simulate(db.url, plan)
    before = _counts(db)
    again = simulate(db.url, plan)
    assert again.events == first.events
    assert again.actions == first.actions  # the first decisions, replayed
    assert _counts(db) == before
    assert again.charges == 0  # nothing new to answer


def test_the_clock_of_the_simulation_ends_where_the_plan_does(db: Db) -> None:
    _world(db)
    plan = Plan(lots=1, hours=2, rate=10, start=START, seed=9)
    simulate(db.url, plan)
    with db.tx() as s:
        latest = s.scalar(select(func.max(Charge.requested_at)))
    assert latest is None or latest <= START + timedelta(hours=2)
