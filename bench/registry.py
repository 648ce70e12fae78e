"""Registry hot paths against the raw driver: binds/s and look-ups/s on SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python -m bench.registry                  # both databases, report as a table
    .venv/bin/python -m bench.registry --n 500 --databases sqlite --json

For each database, in the same run and on the same (scratch) database, four measurements:

- ``baseline_insert``: the raw driver (sqlite3 / psycopg) inserting one row of a table as wide
  as ``bindings`` and committing, one transaction per row;
- ``bind``: ``registry.service.bind`` in ``db.transaction`` (one transaction per bind, a new
  valid plate each time, round-robin over three agents, in a scope with a cut-over);
- ``baseline_select``: the raw driver fetching one row of that table by primary key;
- ``lookup``: ``registry.queries.lookup`` in a read-only session, for plates that are bound.

The report gives ops/s, p50/p99 latency, the throughput ratios ``bind/baseline_insert`` and
``lookup/baseline_select``, the statements SQLAlchemy sends per operation and, on PostgreSQL,
the client/server round trips (counted from a libpq protocol trace), which DESIGN.md's
performance budget says set the cost there.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from bench.common import (
    Stats,
    Unavailable,
    add_database_arguments,
    count_statements,
    dump_json,
    machine_info,
    measure,
    parse_database_arguments,
    postgres_facts,
    print_table,
    print_title,
    progress,
    ratio,
    scratch_postgres,
    scratch_sqlite,
    sqlite_facts,
    trace_engine_round_trips,
    trace_round_trips,
)
from platebind.clock import FixedClock
from platebind.db import (
    make_engine,
    make_session_factory,
    read_only_factory,
    transaction,
)
from platebind.registry import agents, queries, scopes, service
from platebind.registry.audit import Actor

DEFAULT_N = 1500
OPERATIONS = ("baseline_insert", "bind", "baseline_select", "lookup")

# A Thursday, 10:00 Taipei time; binds take effect at the next 04:00 cut-over, so look-ups are
# made two days later, when every benchmark binding is active (the gate's question).
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
LOOKUP_AT = T0 + timedelta(days=2)
SCOPE = "tpe-lots"
VEHICLE_TYPE = "car"
AGENTS = ("cmj", "pi", "jko")
ADMIN = Actor("admin", "bench")
# The new series (since 2012): three letters without I or O, four digits, never 0000.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

BASELINE_COLUMNS = (
    "id, scope_id, vehicle_type, plate, agent_id, valid_from, valid_to, requested_at, "
    "end_requested_at, end_reason, created_at"
)
# As wide as ``bindings`` (same columns and types), but bare: a primary key and nothing else.
SQLITE_BASELINE_DDL = """
CREATE TABLE bench_baseline (
    id CHAR(32) NOT NULL PRIMARY KEY, scope_id VARCHAR(40) NOT NULL,
    vehicle_type VARCHAR(12) NOT NULL, plate VARCHAR(12) NOT NULL, agent_id VARCHAR(40) NOT NULL,
    valid_from DATETIME NOT NULL, valid_to DATETIME, requested_at DATETIME NOT NULL,
    end_requested_at DATETIME, end_reason VARCHAR(30), created_at DATETIME NOT NULL
)"""
PG_BASELINE_DDL = """
CREATE TABLE bench_baseline (
    id UUID NOT NULL PRIMARY KEY, scope_id VARCHAR(40) NOT NULL,
    vehicle_type VARCHAR(12) NOT NULL, plate VARCHAR(12) NOT NULL, agent_id VARCHAR(40) NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL, valid_to TIMESTAMPTZ, requested_at TIMESTAMPTZ NOT NULL,
    end_requested_at TIMESTAMPTZ, end_reason VARCHAR(30), created_at TIMESTAMPTZ NOT NULL
)"""


def plate_numbers() -> Iterator[str]:
    """Distinct valid car plates: ``AAA-0001``, ``AAA-0002``, … (13,824 × 9,999 of them)."""
    for letters in itertools.product(PLATE_LETTERS, repeat=3):
        prefix = "".join(letters)
        for number in range(1, 10_000):
            yield f"{prefix}-{number:04d}"


# --- the raw-driver baseline ------------------------------------------------------------------


class Baseline(Protocol):
    """The same work done with the bare driver: one-row insert + commit; primary-key select."""

    def insert(self) -> None: ...

    def select(self) -> None: ...

    def close(self) -> None: ...


def _baseline_row(key: uuid.UUID | str, plate: str) -> tuple[Any, ...]:
    return (key, SCOPE, VEHICLE_TYPE, plate, AGENTS[0], T0, None, T0, None, None, T0)


class _RowSource:
    """Rows prepared before timing (ids, plates), and the keys of rows written so far."""

    def __init__(self, make_key: Callable[[uuid.UUID], uuid.UUID | str], count: int) -> None:
        plates = plate_numbers()
        self._rows = iter(
            [_baseline_row(make_key(uuid.uuid4()), next(plates)) for _ in range(count)]
        )
        self.written: list[Any] = []
        self._keys: Iterator[Any] = iter(())

    def next_row(self) -> tuple[Any, ...]:
        row = next(self._rows)
        self.written.append(row[0])
        return row

    def next_key(self) -> Any:
        """Keys of written rows in a fixed random order, cycled."""
        key = next(self._keys, None)
        if key is None:
            shuffled = list(self.written)
            random.Random(42).shuffle(shuffled)
            self._keys = itertools.cycle(shuffled)
            key = next(self._keys)
        return key


class SqliteBaseline:
    def __init__(self, path: Path, rows: int) -> None:
        # The driver's default transaction handling: INSERT opens a transaction, commit() ends
        # it; SELECT runs outside one. Same durability setting as platebind's engine.
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(SQLITE_BASELINE_DDL)
        self.conn.commit()
        self.rows = _RowSource(lambda key: key.hex, rows)
        self._insert = f"INSERT INTO bench_baseline ({BASELINE_COLUMNS}) VALUES " + (
            "(" + ", ".join("?" * 11) + ")"
        )

    def insert(self) -> None:
        row = self.rows.next_row()
        # ISO strings, as SQLAlchemy stores them (sqlite3's datetime adapter is deprecated).
        self.conn.execute(
            self._insert, [v.isoformat(" ") if isinstance(v, datetime) else v for v in row]
        )
        self.conn.commit()

    def select(self) -> None:
        cursor = self.conn.execute(
            "SELECT * FROM bench_baseline WHERE id = ?", (self.rows.next_key(),)
        )
        assert cursor.fetchone() is not None

    def close(self) -> None:
        self.conn.close()


class PostgresBaseline:
    def __init__(self, conninfo: str, rows: int) -> None:
        # The driver's defaults: a writer whose first statement opens a transaction (BEGIN) that
        # commit() ends; look-ups on an autocommit connection (one round trip each).
        self.writer = psycopg.connect(conninfo)
        self.reader = psycopg.connect(conninfo, autocommit=True)
        self.writer.execute(PG_BASELINE_DDL)
        self.writer.commit()
        self.rows = _RowSource(lambda key: key, rows)
        self._insert = f"INSERT INTO bench_baseline ({BASELINE_COLUMNS}) VALUES " + (
            "(" + ", ".join(["%s"] * 11) + ")"
        )

    def insert(self) -> None:
        self.writer.execute(self._insert, self.rows.next_row())
        self.writer.commit()

    def select(self) -> None:
        cursor = self.reader.execute(
            "SELECT * FROM bench_baseline WHERE id = %s", (self.rows.next_key(),)
        )
        assert cursor.fetchone() is not None

    def close(self) -> None:
        self.writer.close()
        self.reader.close()


# --- platebind ----------------------------------------------------------------------------


@dataclass
class Registry:
    """platebind's bind and look-up on one migrated database, as a request would call them."""

    engine: Engine
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    factory: sessionmaker[Session] = field(init=False)
    reader: sessionmaker[Session] = field(init=False)
    plates: Iterator[str] = field(default_factory=plate_numbers)
    bound: list[str] = field(default_factory=list)
    _lookups: Iterator[str] = field(default_factory=lambda: iter(()))
    _agents: Iterator[str] = field(default_factory=lambda: itertools.cycle(AGENTS))

    def __post_init__(self) -> None:
        self.factory = make_session_factory(self.engine)
        self.reader = read_only_factory(self.engine)

    def build_world(self) -> None:
        """One scope with a 04:00 cut-over and three agents accredited for it."""
        with transaction(self.factory) as s:
            scopes.add_scope(
                s,
                self.clock,
                ADMIN,
                scope_id=SCOPE,
                name="臺北市公有停車場",
                kind="lots",
                cutover="04:00",
                lead_hours=1,
            )
            for agent_id in AGENTS:
                agents.add_agent(
                    s, self.clock, ADMIN, agent_id=agent_id, name=agent_id, scopes=[SCOPE]
                )

    def bind(self) -> None:
        plate = next(self.plates)
        agent_id = next(self._agents)
        actor = Actor("agent", agent_id, request_id=plate)
        with transaction(self.factory) as s:
            result = service.bind(
                s,
                self.clock,
                actor,
                agent_id=agent_id,
                scope_id=SCOPE,
                vehicle_type=VEHICLE_TYPE,
                plate=plate,
            )
        assert result.created
        self.bound.append(plate)

    def lookup(self) -> None:
        plate = next(self._lookups, None)
        if plate is None:
            shuffled = list(self.bound)
            random.Random(42).shuffle(shuffled)
            self._lookups = itertools.cycle(shuffled)
            plate = next(self._lookups)
        with transaction(self.reader) as s:
            found = queries.lookup(s, SCOPE, VEHICLE_TYPE, plate, LOOKUP_AT)
        assert found.holder is not None


# --- scratch databases --------------------------------------------------------------------


@dataclass
class Target:
    """A migrated scratch database: its URL, a raw baseline and server facts for the report."""

    name: str
    url: str
    baseline: Baseline
    version: str
    settings: dict[str, str]


@contextmanager
def sqlite_target(rows: int) -> Iterator[Target]:
    with scratch_sqlite() as (url, path):
        baseline = SqliteBaseline(path, rows)
        try:
            # The baseline's connection has the settings platebind's engine gives its own.
            facts = sqlite_facts(baseline.conn)
            yield Target("sqlite", url, baseline, sqlite3.sqlite_version, facts)
        finally:
            baseline.close()


@contextmanager
def postgres_target(admin_url: str, rows: int) -> Iterator[Target]:
    with scratch_postgres(admin_url) as url:
        baseline = PostgresBaseline(url, rows)
        try:
            version, facts = postgres_facts(baseline.reader)
            yield Target("postgresql", url, baseline, version, facts)
        finally:
            baseline.close()


# --- one database -------------------------------------------------------------------------


@dataclass
class DatabaseResult:
    name: str
    version: str
    settings: dict[str, str]
    stats: dict[str, Stats]
    statements: dict[str, list[str]]
    round_trips: dict[str, list[str]] | None

    def ratios(self) -> dict[str, float]:
        return {
            "bind/baseline_insert": ratio(self.stats["bind"], self.stats["baseline_insert"]),
            "lookup/baseline_select": ratio(self.stats["lookup"], self.stats["baseline_select"]),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "settings": self.settings,
            "stats": {op: self.stats[op].as_dict() for op in OPERATIONS},
            "ratios": {key: round(value, 4) for key, value in self.ratios().items()},
            "statements_per_op": {op: len(s) for op, s in self.statements.items()},
            "statements": self.statements,
            "round_trips_per_op": (
                None
                if self.round_trips is None
                else {op: len(r) for op, r in self.round_trips.items()}
            ),
            "round_trips": self.round_trips,
        }


def run_database(target: Target, n: int, warmup: int, bar: tqdm[Any]) -> DatabaseResult:
    engine = make_engine(target.url)
    try:
        registry = Registry(engine)
        registry.build_world()
        operations: dict[str, Callable[[], None]] = {
            "baseline_insert": target.baseline.insert,
            "bind": registry.bind,
            "baseline_select": target.baseline.select,
            "lookup": registry.lookup,
        }
        stats: dict[str, Stats] = {}
        for op in OPERATIONS:
            bar.set_description(f"{target.name} {op}")
            stats[op] = measure(operations[op], n, warmup=warmup, bar=bar)
        bar.set_description(f"{target.name} round trips")
        statements = {op: count_statements(engine, operations[op]) for op in ("bind", "lookup")}
        round_trips = _round_trips(target, engine, operations)
        bar.update(len(OPERATIONS) + 2)
        return DatabaseResult(
            target.name, target.version, target.settings, stats, statements, round_trips
        )
    finally:
        engine.dispose()


def _round_trips(
    target: Target, engine: Engine, operations: dict[str, Callable[[], None]]
) -> dict[str, list[str]] | None:
    """Round trips of one more operation of each kind (PostgreSQL; SQLite has no wire)."""
    baseline = target.baseline
    if not isinstance(baseline, PostgresBaseline):
        return None
    trips = {
        "baseline_insert": trace_round_trips(baseline.writer, baseline.insert),
        "bind": trace_engine_round_trips(engine, operations["bind"]),
        "baseline_select": trace_round_trips(baseline.reader, baseline.select),
        "lookup": trace_engine_round_trips(engine, operations["lookup"]),
    }
    return {op: t for op, t in trips.items() if t is not None}


# --- report -------------------------------------------------------------------------------


def print_report(
    results: list[DatabaseResult],
    skipped: dict[str, str],
    info: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    print_title("registry", info, [r.version for r in results if r.name == "postgresql"])
    print(
        f"n = {settings['n']:,} ops per measurement, after {settings['warmup']:,} warm-up ops; "
        f"one transaction per bind; load average {info['load_average']}"
    )
    for r in results:
        print(f"{r.name} settings: " + ", ".join(f"{k}={v}" for k, v in r.settings.items()))
    print()
    rows: list[Sequence[object]] = []
    for r in results:
        for op in OPERATIONS:
            s = r.stats[op]
            stmts = r.statements.get(op)
            trips = None if r.round_trips is None else r.round_trips.get(op)
            rows.append(
                [
                    r.name,
                    op,
                    s.ops_per_s,
                    s.p50_us,
                    s.p99_us,
                    None if stmts is None else len(stmts),
                    None if trips is None else len(trips),
                ]
            )
    print_table(
        ["database", "operation", "ops/s", "p50 µs", "p99 µs", "statements", "round trips"], rows
    )
    print(
        "statements: cursor executions SQLAlchemy reports for one more op (before_cursor_execute;"
        " SQLite's include its BEGIN)\nround trips: PostgreSQL exchanges in a libpq trace of one"
        " more op (pool pre-ping, BEGIN and COMMIT included)"
    )
    print()
    print_table(
        ["database", "bind/baseline_insert", "lookup/baseline_select"],
        [[r.name, *r.ratios().values()] for r in results],
    )
    for r in results:
        for op in ("bind", "lookup"):
            if r.round_trips is not None and op in r.round_trips:
                print(f"\n{r.name} round trips of one {op}:")
                for i, trip in enumerate(r.round_trips[op], 1):
                    print(f"  {i:2d}. {trip}")
    for name, reason in skipped.items():
        print(f"\n{name}: not measured — {reason}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.registry", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--n", type=int, default=DEFAULT_N, help=f"operations per measurement (default {DEFAULT_N})"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed operations before each measurement (default n/10, ≥ 50)",
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    parse_database_arguments(parser, args)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.warmup is None:
        args.warmup = max(50, args.n // 10)
    return args


@contextmanager
def open_target(name: str, args: argparse.Namespace) -> Iterator[Target]:
    rows = args.n + args.warmup + 10  # baseline rows to insert: warm-up, timing, tracing
    if name == "sqlite":
        with sqlite_target(rows) as target:
            yield target
    else:
        with postgres_target(args.pg_url, rows) as target:
            yield target


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    info = machine_info()
    settings = {
        "n": args.n,
        "warmup": args.warmup,
        "databases": args.databases,
        "scope": SCOPE,
        "vehicle_type": VEHICLE_TYPE,
        "agents": list(AGENTS),
    }
    results: list[DatabaseResult] = []
    skipped: dict[str, str] = {}
    for name in args.databases:
        total = len(OPERATIONS) * (args.n + args.warmup) + len(OPERATIONS) + 2
        try:
            with (
                open_target(name, args) as target,
                progress(total, name, enabled=not args.json) as bar,
            ):
                results.append(run_database(target, args.n, args.warmup, bar))
        except Unavailable as exc:
            skipped[name] = str(exc)
            if not args.json:
                print(f"{exc}; carrying on without it", file=sys.stderr)
    info["postgresql"] = next((r.version for r in results if r.name == "postgresql"), None)
    run_seconds = time.perf_counter() - started
    if args.json:
        dump_json(
            {
                "benchmark": "registry",
                "machine": info,
                "settings": settings,
                "databases": {r.name: r.as_dict() for r in results},
                "skipped": skipped,
                "run_seconds": round(run_seconds, 1),
            }
        )
    else:
        print_report(results, skipped, info, settings)
        print(f"\nrun time {run_seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
