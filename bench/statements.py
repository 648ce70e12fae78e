"""Statement export for up to a million lines: time and peak memory at 100k, 300k and 1M lines,
on SQLite and PostgreSQL, against the raw driver doing the same read in the same run.

Run from the repository root::

    .venv/bin/python -m bench.statements                     # both databases, 100k/300k/1M
    .venv/bin/python -m bench.statements --sizes 10000,30000 --databases sqlite --json

Set-up per database (a scratch one): scope ``tpe-lots``, agent ``bench`` and, for each size N,
a Taipei day holding N statement lines (94 % paid, 5 % declined, 1 % corrections), each line a
charge and its settle event, written with bulk inserts (``COPY`` on PostgreSQL, ``executemany``
on SQLite) — never the service loop. The sizes share one database, so the largest day is read
from tables holding every day.

Each measurement runs in a fresh child process, so the peak resident memory it reports is its
own (``VmHWM``, reset just before the run, and its growth over what the child held then):

- ``export``: ``statements.export_day`` writing the day's CSV file (``platebind statements
  export``); then once more under ``tracemalloc`` for the peak of Python's heap;
- ``json``: the JSON statement streamed to nowhere (``GET /v1/statements/{date}``);
- ``baseline``: the raw driver (``sqlite3`` / a psycopg server-side cursor) running the same
  query and writing CSV with the ``csv`` module.

Flat memory means the peaks stay the same while N grows tenfold; ``ratio`` is the export's
lines/s over the baseline's.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import random
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert
from tqdm import tqdm

import platebind.billing.models  # noqa: F401  (the tables, by name below)
from bench.common import (
    Unavailable,
    add_database_arguments,
    dump_json,
    machine_info,
    measure,
    parse_database_arguments,
    postgres_facts,
    print_table,
    print_title,
    progress,
    scratch_postgres,
    scratch_sqlite,
)
from platebind.billing import statements
from platebind.clock import FixedClock
from platebind.db import Base, make_engine, make_session_factory, read_only_factory, transaction
from platebind.registry import agents, scopes
from platebind.registry.audit import Actor

DEFAULT_SIZES = (100_000, 300_000, 1_000_000)
FIRST_DAY = date(2026, 12, 1)
AGENT = "bench"
BATCH = 20_000
MIB = 1024 * 1024
OPERATIONS = ("export", "json", "baseline")
_BASELINE_SQL = (
    "SELECT e.at, e.kind, e.charge_id, c.corrects_charge_id, c.source, c.source_id, "
    "c.vehicle_type, c.plate, c.place, c.started_at, c.ended_at, e.amount, c.reference, "
    "c.reason FROM settle_events e JOIN charges c ON c.id = e.charge_id "
    "WHERE e.agent_id = {p} AND e.at >= {p} AND e.at < {p} ORDER BY e.at, e.id"
)


# --- building the days ----------------------------------------------------------------------


def _rows(day: date, n: int, rng: random.Random) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The charge and settle event of each of the day's ``n`` lines, spread over the day."""
    start, _ = statements.day_span(day)
    step = timedelta(seconds=86_400 / n)
    created = datetime.now(UTC)
    previous: uuid.UUID | None = None
    for i in range(n):
        at = start + i * step
        kind = "correction" if i % 100 == 0 and previous else "declined" if i % 20 == 1 else "paid"
        charge_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        amount = -10 if kind == "correction" else 20 + 5 * (i % 40)
        charge = {
            "id": charge_id, "agent_id": AGENT, "scope_id": "tpe-lots", "vehicle_type": "car",
            "plate": f"BEN-{i % 10_000:04d}", "amount": amount,
            "status": "declined" if kind == "declined" else "paid", "source": "session",
            "source_id": f"bench-{day}-{i}",
            "corrects_charge_id": previous if kind == "correction" else None,
            "place": "TPE0001", "started_at": at - timedelta(hours=2), "ended_at": at,
            "match": "exact", "raw_plate": None, "requested_at": at, "settled_at": at,
            "reference": None if kind == "declined" else f"tx-{day}-{i}",
            "reason": "no_funds" if kind == "declined" else None, "created_at": created,
        }  # fmt: skip
        event = {
            "agent_id": AGENT, "charge_id": charge_id, "kind": kind, "amount": amount, "at": at,
            "created_at": created,
        }  # fmt: skip
        previous = charge_id if kind == "paid" else previous
        yield charge, event


def _batches(day: date, n: int, rng: random.Random) -> Iterator[list[tuple[dict[str, Any], ...]]]:
    batch: list[tuple[dict[str, Any], ...]] = []
    for pair in _rows(day, n, rng):
        batch.append(pair)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build(url: str, sizes: Sequence[int], bar: tqdm[Any]) -> dict[int, date]:
    """The world, then one day per size (bulk inserts); the day of each size."""
    engine = make_engine(url)
    clock = FixedClock(datetime(2026, 11, 30, tzinfo=UTC))
    admin = Actor("admin", "bench")
    with transaction(make_session_factory(engine)) as s:
        scopes.add_scope(s, clock, admin, scope_id="tpe-lots", name="lots", kind="lots")
        agents.add_agent(s, clock, admin, agent_id=AGENT, name="Bench", scopes=["tpe-lots"])
    rng = random.Random(42)
    days = {n: FIRST_DAY + timedelta(days=i) for i, n in enumerate(sizes)}
    load = _copy_batch if engine.dialect.name == "postgresql" else _insert_batch
    with engine.begin() as conn:
        for n, day in days.items():
            for batch in _batches(day, n, rng):
                load(conn, batch)
                bar.update(len(batch))
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE charges; ANALYZE settle_events")
    engine.dispose()
    return days


def _insert_batch(conn: Any, batch: list[tuple[dict[str, Any], ...]]) -> None:
    # Core inserts (not the ORM's bulk path): one executemany per table and batch.
    tables = Base.metadata.tables
    conn.execute(insert(tables["charges"]), [charge for charge, _ in batch])
    conn.execute(insert(tables["settle_events"]), [event for _, event in batch])


def _copy_batch(conn: Any, batch: list[tuple[dict[str, Any], ...]]) -> None:
    cursor = conn.connection.driver_connection.cursor()
    for table, rows in (
        ("charges", [c for c, _ in batch]),
        ("settle_events", [e for _, e in batch]),
    ):
        columns = list(rows[0])
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


# --- one measurement, in its own process ----------------------------------------------------


def _memory(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak) of this process, in bytes. Not
    ``ru_maxrss``: Linux carries that over an exec, so a child would report its parent's."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Start ``VmHWM`` over from the present resident size (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _operation(op: str, url: str, day: date, directory: Path) -> Callable[[], int]:
    """The operation to measure; each call returns the lines it produced."""
    factory = read_only_factory(make_engine(url))
    now = datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC)
    if op == "export":

        def export() -> int:
            with transaction(factory) as s:
                (written,) = statements.export_day(s, now, day, directory)
            return written.lines

        return export
    if op == "json":

        def stream_json() -> int:
            with transaction(factory) as s:
                statement = statements.statement_of(AGENT, day, now)
                return sum(
                    chunk.count(b'"kind"') for chunk in statements.stream(s, statement, "json")
                )

        return stream_json
    return _baseline(url, day, directory)


def _baseline(url: str, day: date, directory: Path) -> Callable[[], int]:
    start, end = statements.day_span(day)
    path = directory / "baseline.csv"
    if url.startswith("sqlite"):
        naive = [t.replace(tzinfo=None).isoformat(sep=" ") for t in (start, end)]

        def sqlite_read() -> int:
            conn = sqlite3.connect(url.removeprefix("sqlite:///"))
            try:
                cursor = conn.execute(_BASELINE_SQL.format(p="?"), (AGENT, *naive))
                return _write(path, cursor)
            finally:
                conn.close()

        return sqlite_read

    def postgres_read() -> int:
        with psycopg.connect(url) as conn, conn.cursor(name="baseline") as cursor:
            cursor.itersize = statements.CHUNK
            cursor.execute(_BASELINE_SQL.format(p="%s"), (AGENT, start, end))
            return _write(path, cursor)

    return postgres_read


def _write(path: Path, rows: Any) -> int:
    count = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def child(op: str, url: str, day: date, conn: Any) -> None:
    """Measure ``op`` once plainly (time, peak resident memory over what the process held
    before) and once under tracemalloc (peak of Python's heap)."""
    with tempfile.TemporaryDirectory(prefix="platebind_bench_") as tmp:
        run = _operation(op, url, day, Path(tmp))
        before = _memory("VmRSS")
        _reset_peak()
        produced: list[int] = []
        stats = measure(lambda: produced.append(run()), 1)
        peak = _memory("VmHWM")
        tracemalloc.start()
        run()
        _, heap = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    conn.send(
        {
            "lines": produced[0],
            "seconds": stats.seconds,
            "rss_start": before,
            "rss_peak": peak,
            "rss_growth": peak - before,
            "heap_peak": heap,
        }
    )


def measure_in_child(op: str, url: str, day: date) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(op, url, day, sender))
    process.start()
    sender.close()
    result: dict[str, Any] = receiver.recv()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the {op} measurement failed (exit {process.exitcode})")
    return result


# --- the run ----------------------------------------------------------------------------------


@contextmanager
def database(name: str, args: argparse.Namespace) -> Iterator[tuple[str, str | None]]:
    if name == "sqlite":
        with scratch_sqlite() as (url, _):
            yield url, None
    else:
        with scratch_postgres(args.pg_url) as url, psycopg.connect(url) as conn:
            yield url, postgres_facts(conn)[0]


def run_database(name: str, args: argparse.Namespace) -> dict[str, Any]:
    with database(name, args) as (url, version):
        with progress(sum(args.sizes), f"{name}: bulk insert", enabled=not args.json) as bar:
            built = time.perf_counter()
            days = build(url, args.sizes, bar)
            built = time.perf_counter() - built
        rows: list[dict[str, Any]] = []
        steps = len(args.sizes) * len(OPERATIONS)
        with progress(steps, f"{name}: measure", enabled=not args.json) as bar:
            for n, day in days.items():
                found: dict[str, Any] = {}
                for op in OPERATIONS:
                    found[op] = measure_in_child(op, url, day)
                    bar.update(1)
                assert {found[op]["lines"] for op in OPERATIONS} == {n}, found
                rows.append({"lines": n, "day": day.isoformat(), **found})
    return {"database": name, "version": version, "build_seconds": built, "sizes": rows}


def print_report(
    results: list[dict[str, Any]], skipped: dict[str, str], info: dict[str, Any]
) -> None:
    print_title("statements", info, [r["version"] for r in results if r["version"]])
    print(f"one agent, one Taipei day per size; load average {info['load_average']}\n")
    table: list[list[object]] = []
    for r in results:
        for row in r["sizes"]:
            export, js, base = row["export"], row["json"], row["baseline"]
            table.append([
                r["database"], row["lines"], export["seconds"], row["lines"] / export["seconds"],
                base["seconds"] / export["seconds"], export["rss_peak"] / MIB,
                export["rss_growth"] / MIB, export["heap_peak"] / MIB, js["seconds"],
                js["rss_peak"] / MIB, js["heap_peak"] / MIB, base["rss_peak"] / MIB,
            ])  # fmt: skip
    print_table(
        ["database", "lines", "export s", "lines/s", "ratio", "RSS MiB", "RSS growth",
         "heap MiB", "json s", "json RSS", "json heap", "baseline RSS"],
        table,
    )  # fmt: skip
    print(
        "\nRSS: the measuring process's peak resident set during the run (MiB: VmHWM); growth: "
        "over what\nit held before (imports, engine); heap: tracemalloc's peak in a second run "
        "(MiB); ratio: export\nlines/s over the raw driver's (same query, csv module); json: the "
        "JSON statement streamed to nowhere"
    )
    for r in results:
        print(f"{r['database']}: bulk insert of {sum(s['lines'] for s in r['sizes']):,} lines "
              f"(charges + settle events) in {r['build_seconds']:.1f} s")  # fmt: skip
    for name, reason in skipped.items():
        print(f"\n{name}: not measured — {reason}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.statements", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in DEFAULT_SIZES),
        help="lines per day, comma-separated (default %(default)s)",
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    parse_database_arguments(parser, args)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 100000,300000,1000000")
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--sizes needs at least one size of at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for name in args.databases:
        try:
            results.append(run_database(name, args))
        except Unavailable as exc:
            skipped[name] = str(exc)
    if args.json:
        dump_json({"machine": info, "sizes": args.sizes, "results": results, "skipped": skipped})
    else:
        print_report(results, skipped, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
