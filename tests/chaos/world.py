"""The database and the world a chaos run starts from.

A fresh database (a SQLite file, or a PostgreSQL database created from the admin URL and
dropped afterwards) migrated with ``platebind.db.upgrade``; the registry world of the tests
(scopes ``tpe-lots``, ``tpe-roadside``, the immediate ``instant``; agents cmj, pi, jko), built
on a clock three days in the past so that plates bound then are active now; lots with a known
tariff and their keys; every agent's webhook endpoint pointing to the harness's receiver; and
a finished Taipei day of settled charges for ``statements export`` to write.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from platebind.billing.models import Charge, SettleEvent
from platebind.billing.statements import day_span
from platebind.clock import FixedClock, taipei
from platebind.db import make_engine, make_session_factory, upgrade
from platebind.parking import keys
from platebind.registry import service as registry
from platebind.registry.audit import Actor
from platebind.simulation.traffic import unbound_plate
from platebind.webhooks import service as webhooks
from tests.conftest import ADMIN, PG_ADMIN_URL, Db
from tests.parking.gate_world import add_lot
from tests.registry.world import build_world

AGENTS = ("cmj", "pi", "jko")
LOTS_SCOPE = "tpe-lots"
LOT_IDS = ("TPE9101", "TPE9102", "TPE9103")
# The world is built this long ago, so what was bound then took effect at a past cut-over.
SETUP_AGO = timedelta(days=3)
# The statement source of the export day's lines: historical data, not gate sessions.
EXPORT_SOURCE = "chaos-import"


@dataclass(frozen=True)
class WorldSize:
    prebound: int  # plates bound in tpe-lots three days ago (gate traffic, cycle work)
    export_lines: int  # settle events on the export day, spread over the agents
    lots: int = 2


@dataclass
class World:
    url: str
    dialect: str
    built_at: datetime
    agent_keys: dict[str, str]
    lot_keys: dict[str, str]
    secrets: dict[str, str]  # webhook signing secret per agent
    # Bindings made at setup, per agent: (binding id, scope, vehicle type, plate).
    prebound: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    export_day: date = date(2000, 1, 1)


@contextmanager
def fresh_database(kind: str, workdir: Path, admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A migrated, empty database of ``kind`` (sqlite or postgresql), removed afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'chaos.db'}"
        upgrade(url)
        yield url
        return
    name = f"platebind_chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{admin_url.rpartition('/')[0]}/{name}"
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build(url: str, receiver_url: str, size: WorldSize, rng: random.Random) -> World:
    """Everything the run needs, written through the services (bulk for the export day)."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        db = Db(url, engine, make_session_factory(engine), FixedClock(now - SETUP_AGO))
        world = World(
            url=url,
            dialect=engine.dialect.name,
            built_at=now,
            agent_keys=build_world(db).keys,
            lot_keys={},
            secrets={},
        )
        with db.tx() as s:
            for lot_id in LOT_IDS[: size.lots]:
                add_lot(s, db.clock.now(), lot_id, scope=LOTS_SCOPE)
                world.lot_keys[lot_id] = keys.issue_lot_key(s, db.clock, ADMIN, lot_id)
            for agent_id in AGENTS:
                _, world.secrets[agent_id] = webhooks.set_endpoint(
                    s, db.clock, ADMIN, agent_id, f"{receiver_url}/{agent_id}"
                )
        world.prebound = _prebind(db, size.prebound, rng)
        world.export_day = taipei(now).date() - timedelta(days=2)
        _settled_day(engine, world.export_day, size.export_lines, rng)
        return world
    finally:
        engine.dispose()


def _prebind(db: Db, count: int, rng: random.Random) -> dict[str, list[tuple[str, str, str, str]]]:
    """``count`` car plates bound in tpe-lots on the setup clock (active now), round robin."""
    made: dict[str, list[tuple[str, str, str, str]]] = {a: [] for a in AGENTS}
    plates = sorted({unbound_plate(rng) for _ in range(count)})
    with db.tx() as s:
        for n, plate in enumerate(plates):
            agent_id = AGENTS[n % len(AGENTS)]
            result = registry.bind(
                s,
                db.clock,
                Actor("agent", agent_id),
                agent_id=agent_id,
                scope_id=LOTS_SCOPE,
                vehicle_type="car",
                plate=plate,
            )
            made[agent_id].append((str(result.binding.id), LOTS_SCOPE, "car", plate))
    return made


def _settled_day(engine: Engine, day: date, lines: int, rng: random.Random) -> None:
    """``lines`` paid charges settled during ``day`` (Taipei), written in bulk: the history a
    statement export reads. They are settled, so nothing is told by webhook."""
    start, _ = day_span(day)
    charges, events = [], []
    for n in range(lines):
        at = start + timedelta(seconds=rng.randrange(1, 86_000))
        charge_id = uuid.uuid4()
        agent_id = AGENTS[n % len(AGENTS)]
        amount = rng.choice((15, 30, 45, 60, 90, 120))
        charges.append(
            {
                "id": charge_id, "agent_id": agent_id, "scope_id": LOTS_SCOPE,
                "vehicle_type": "car", "plate": unbound_plate(rng), "amount": amount,
                "status": "paid", "source": EXPORT_SOURCE, "source_id": str(charge_id),
                "place": "TPE9101 測試停車場", "started_at": at - timedelta(hours=1),
                "ended_at": at - timedelta(minutes=1), "match": "exact",
                "requested_at": at - timedelta(minutes=1), "settled_at": at,
                "reference": f"ref-{n:06d}", "created_at": at,
            }
        )  # fmt: skip
        events.append(
            {"agent_id": agent_id, "charge_id": charge_id, "kind": "paid", "amount": amount,
             "at": at, "created_at": at}
        )  # fmt: skip
    with engine.begin() as conn:
        for chunk in range(0, lines, 2000):
            conn.execute(insert(Charge), charges[chunk : chunk + 2000])
            conn.execute(insert(SettleEvent), events[chunk : chunk + 2000])
