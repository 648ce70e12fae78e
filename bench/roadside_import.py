"""Roadside bill import: a generated file with 1 % bad lines imported with ``--partial``, on
SQLite and PostgreSQL — time, lines/s and peak memory at 20k and 100k lines.

Run from the repository root::

    .venv/bin/python -m bench.roadside_import                    # both databases, 20k and 100k
    .venv/bin/python -m bench.roadside_import --sizes 5000 --databases sqlite --json

Set-up per size and database (a scratch one, so every import starts from the same state):
scope ``tpe-roadside``, agents cmj, pi and jko, 50 street segments at 30 TWD an hour by the half
hour, and 1,500 plates bound in the scope through the registry's service (1,000 cars, 500
motorcycles). The file: 70 % car bills priced by the segment tariff, 30 % motorcycle bills per
entry (some a plate's second of the day, so voided), a quarter of them of bound plates (so
auto-paid); every 100th line bad (an unreadable plate, an unknown segment or a time that does
not read, in turn).

The import runs in a fresh child process (``importer.import_bills`` as ``platebind roadside
import --partial`` calls it, with its tqdm bar on stderr), so the peak resident memory it
reports is its own: ``VmHWM`` growth over what the child held before the import (imports and
engine included in the start). Bounded memory means the peak stays about the same while the
file grows fivefold.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import (
    Unavailable,
    add_database_arguments,
    dump_json,
    machine_info,
    parse_database_arguments,
    print_table,
    print_title,
    scratch_postgres,
    scratch_sqlite,
)
from bench.statements import _memory, _reset_peak
from platebind.clock import FixedClock
from platebind.db import make_engine, make_session_factory, transaction
from platebind.registry import agents, scopes
from platebind.registry import service as registry
from platebind.registry.audit import Actor
from platebind.roadside import importer, service, settlement

ADMIN = Actor("admin", "bench")
SCOPE = "tpe-roadside"
SEGMENTS = [f"SEG{i:03d}" for i in range(50)]
HALF_HOURLY = "計時：30元/時，全程以半小時計。"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# Bindings are made on the Thursday and take effect on Friday 04:00; the bills are Friday's.
SET_UP_AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
DAY = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 09:00 Taipei
IMPORT_AT = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
BAD = ("??", "NOWHERE", "not-a-time")


def car_plate(n: int) -> str:
    letters = "".join(LETTERS[(n // 10**k) % len(LETTERS)] for k in range(3))
    return f"{letters}-{n % 9999 + 1:04d}"


def moto_plate(n: int) -> str:
    letters = "".join(LETTERS[(n // 7**k) % len(LETTERS)] for k in range(3))
    return f"{n % 999 + 1:03d}-{letters}"


def build_world(url: str) -> None:
    clock = FixedClock(SET_UP_AT)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        scopes.add_scope(
            s, clock, ADMIN, scope_id=SCOPE, name="臺北市路邊停車", kind="roadside",
            cutover="04:00", lead_hours=1,
        )  # fmt: skip
        for agent_id in ("cmj", "pi", "jko"):
            agents.add_agent(s, clock, ADMIN, agent_id=agent_id, name=agent_id, scopes=[SCOPE])
        for segment_id in SEGMENTS:
            service.add_segment(
                s, clock.now(), ADMIN, segment_id=segment_id, scope_id=SCOPE,
                name=f"路段 {segment_id}", payex=HALF_HOURLY,
            )  # fmt: skip
        bound = [("car", car_plate(n)) for n in range(1000)]
        bound += [("motorcycle", moto_plate(n)) for n in range(500)]
        for i, (vehicle_type, plate) in enumerate(bound):
            agent_id = ("cmj", "pi", "jko")[i % 3]
            registry.bind(
                s, clock, Actor("agent", agent_id), agent_id=agent_id, scope_id=SCOPE,
                vehicle_type=vehicle_type, plate=plate,
            )  # fmt: skip
    engine.dispose()


def write_file(path: Path, lines: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    header = ["bill_no", "vehicle_type", "plate", "segment", "started_at", "ended_at"]
    header += ["amount", "issued_at", "due_at"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(lines):
            writer.writerow(_line(rng, i))


def _line(rng: random.Random, i: int) -> list[str]:
    moto = rng.random() < 0.3
    pool = 500 if moto else 1000
    # A quarter of the bills are of bound plates (the first of the pool).
    n = rng.randrange(pool) if rng.random() < 0.25 else pool + rng.randrange(40_000)
    plate = moto_plate(n) if moto else car_plate(n)
    started = DAY + timedelta(minutes=rng.randrange(12 * 60))
    ended = started + timedelta(minutes=10 + rng.randrange(180))
    segment = rng.choice(SEGMENTS)
    started_text = started.isoformat()
    if i % 100 == 99:  # the 1 % of bad lines, each kind in turn
        bad = BAD[(i // 100) % len(BAD)]
        plate = bad if bad == "??" else plate
        segment = bad if bad == "NOWHERE" else segment
        started_text = bad if bad == "not-a-time" else started_text
    return [
        f"TPE{i:09d}",
        "motorcycle" if moto else "car",
        plate,
        segment,
        started_text,
        "" if moto else ended.isoformat(),
        "",
        (ended + timedelta(minutes=5)).isoformat(),
        "",
    ]


def child(url: str, path: str, conn: Any) -> None:
    """Import the file once (``--partial``), measuring time and peak resident memory."""
    settlement.install()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with open(path, "rb") as handle:
        lines = sum(1 for _ in handle) - 1
    before = _memory("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    bar = tqdm(total=lines, unit="bill", file=sys.stderr, desc="import", leave=False)
    with bar, transaction(factory) as session:
        summary = importer.import_bills(
            session,
            IMPORT_AT,
            ADMIN,
            importer.read_lines(Path(path)),
            partial=True,
            progress=bar.update,
        )
    seconds = time.perf_counter() - started
    peak = _memory("VmHWM")
    engine.dispose()
    doc = summary.as_dict()
    conn.send(
        {
            "lines": doc["rows"],
            "imported": doc["imported"],
            "rejected": len(doc["rejected"]),
            "voided": doc["voided"],
            "auto_paid": doc["auto_paid"],
            "every_bad_line_reported": [r["line"] for r in doc["rejected"]]
            == [i + 2 for i in range(lines) if i % 100 == 99],
            "seconds": seconds,
            "rss_start": before,
            "rss_growth": peak - before,
        }
    )


def measure_in_child(url: str, path: Path) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(url, str(path), sender))
    process.start()
    sender.close()
    result: dict[str, Any] = receiver.recv()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the import failed (exit {process.exitcode})")
    return result


@contextmanager
def database(name: str, args: argparse.Namespace) -> Iterator[str]:
    if name == "sqlite":
        with scratch_sqlite() as (url, _):
            yield url
    else:
        with scratch_postgres(args.pg_url) as url:
            yield url


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, str]]:
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="platebind_bench_") as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"bills-{size}.csv"
            write_file(path, size)
            for name in args.databases:
                try:
                    with database(name, args) as url:
                        build_world(url)
                        results.append({"database": name, **measure_in_child(url, path)})
                except Unavailable as exc:
                    skipped[name] = str(exc)
    return results, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,100000", help="lines per file, comma-separated")
    add_database_arguments(parser)
    args = parser.parse_args()
    parse_database_arguments(parser, args)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    results, skipped = run(args)
    info = machine_info()
    if args.json:
        dump_json({"machine": info, "results": results, "skipped": skipped})
        return
    print_title("roadside import", info, [])
    rows = [
        [
            r["database"], r["lines"], r["imported"], r["rejected"], r["voided"], r["auto_paid"],
            r["seconds"], r["lines"] / r["seconds"], r["rss_growth"] / 2**20,
            r["every_bad_line_reported"],
        ]
        for r in results
    ]  # fmt: skip
    headers = ["database", "lines", "imported", "rejected", "void", "auto-paid", "s", "lines/s"]
    print_table([*headers, "peak RSS growth MiB", "all bad lines listed"], rows)
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")


if __name__ == "__main__":
    main()
