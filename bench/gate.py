"""The gate under load: LPR entry + exit pairs at 16 lots at once against bare endpoints of the
same server.

Run from the repository root::

    .venv/bin/python -m bench.gate                          # both databases, report as a table
    .venv/bin/python -m bench.gate --databases sqlite --pairs 100 --json

For each database, a scratch migrated database gets the world of ``bench.api`` (three scopes,
six agents), ``--lots`` lots imported through the real import service (the feed's shape; 30
TWD an hour per started half hour) in the immediate scope ``instant``, a key per lot, and
per lot ``--plates`` plates of which half are bound (active at once: card-free) and half not
(tickets). The server is ``bench.api``'s: a real uvicorn (one worker) in a subprocess running
``create_app`` on the system clock, plus its bare routes. Measured, in this order, each with
one keep-alive connection per lot driven by one asyncio task in this process:

- ``healthz``: ``GET /healthz``, two per pair (no database);
- ``bare``: ``GET /bench/bare?key=…``, two per pair (one primary-key SELECT with the raw
  driver in a ``def`` route);
- ``gate``: per lot, in order, ``POST /v1/lots/{lot}/events`` entry then exit of the lot's
  next plate (a pair), ``at`` the time of sending. A lot waits for each answer before its next
  event, as a gate does. Entries of bound plates are ``open`` (card-free session, webhook),
  the others ``ticket``; exits of card-free sessions ``open`` with a charge (15 TWD) and two
  webhooks, the others ``pay``. Any other answer makes the run invalid.

Decisions/s is the timed decisions over the timed wall time; latencies are per request (send
to last byte). Ratios: the gate's decisions/s over the baselines' requests/s (same run, same
server, same client). CPU of the server and PostgreSQL processes is read from ``/proc``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import make_url

from bench.api import (
    BareSelect,
    Request,
    _Client,
    _CpuMeter,
    build_world,
    encode,
    fill_bare_table,
    open_target,
    plate_at,
    running_server,
    server_info,
)
from bench.common import (
    Stats,
    Unavailable,
    add_database_arguments,
    dump_json,
    machine_info,
    parse_database_arguments,
    print_table,
    print_title,
    ratio,
    stats_of,
)
from platebind.clock import SystemClock
from platebind.db import make_engine, make_session_factory, transaction
from platebind.parking import keys, service
from platebind.registry import service as registry
from platebind.registry.audit import Actor

DEFAULT_LOTS = 16
DEFAULT_PAIRS = 150  # per lot
DEFAULT_PLATES = 40  # per lot, half of them bound
WARMUP_PAIRS = 15  # per lot, untimed
SCOPE = "instant"  # bindings take effect at once, so entries are card-free right away
PAYEX = "計時：30元/時，全程以半小時計。"
AGENTS = ("cmj", "pi", "jko", "easy", "linepay", "icash")
ADMIN = Actor("admin", "bench")


@dataclass(frozen=True)
class GateLot:
    id: str
    key: str
    plates: tuple[str, ...]
    bound: frozenset[str]


def lot_id(n: int) -> str:
    return f"BENCH{n:03d}"


def build_lots(url: str, count: int, plates_per_lot: int) -> list[GateLot]:
    """Lots through the import service, their keys, and the bound half of their plates."""
    engine = make_engine(url)
    clock = SystemClock()
    feed = [
        {"id": lot_id(n), "name": f"基準停車場 {n}", "payex": PAYEX, "totalcar": 500}
        for n in range(count)
    ]
    lots = []
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as s:
            service.import_taipei(s, clock, ADMIN, feed, SCOPE)
        with transaction(factory) as s:
            for n in range(count):
                plates = tuple(plate_at(n * plates_per_lot + i) for i in range(plates_per_lot))
                bound = frozenset(plates[::2])
                for i, plate in enumerate(sorted(bound)):
                    agent = AGENTS[i % len(AGENTS)]
                    registry.bind(
                        s, clock, Actor("agent", agent), agent_id=agent, scope_id=SCOPE,
                        vehicle_type="car", plate=plate,
                    )  # fmt: skip
                key = keys.issue_lot_key(s, clock, ADMIN, lot_id(n))
                lots.append(GateLot(lot_id(n), key, plates, bound))
    finally:
        engine.dispose()
    return lots


# --- the load: one task per lot --------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[int] = field(default_factory=list)
    entry_latencies: list[int] = field(default_factory=list)
    exit_latencies: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.statuses[what] = self.statuses.get(what, 0) + 1


Step = Callable[[_Client, int, Tally | None], Awaitable[None]]


def gate_steps(lot: GateLot, run: str, host: str) -> Step:
    """The ``i``-th pair of the lot: entry then exit of its next plate, checked."""
    path = f"/v1/lots/{lot.id}/events"

    async def event(client: _Client, event_id: str, gate: str, plate: str) -> tuple[str, int]:
        body = {"event_id": event_id, "gate": gate, "plate": plate, "vehicle_type": "car",
                "at": datetime.now(UTC).isoformat(), "confidence": 0.97}  # fmt: skip
        raw = encode(Request("POST", path, lot.key, orjson.dumps(body)), host)
        started = time.perf_counter_ns()
        status, answer = await client.exchange(raw)
        elapsed = time.perf_counter_ns() - started
        action = orjson.loads(answer).get("action") if status == 200 else f"HTTP {status}"
        return str(action), elapsed

    async def pair(client: _Client, i: int, tally: Tally | None) -> None:
        plate = lot.plates[i % len(lot.plates)]
        card_free = plate in lot.bound
        expected = {
            "entry": "open" if card_free else "ticket",
            "exit": "open" if card_free else "pay",
        }
        for gate in ("entry", "exit"):
            action, elapsed = await event(client, f"{run}-{lot.id}-{i}-{gate}", gate, plate)
            if tally is None:
                continue
            tally.latencies.append(elapsed)
            (tally.entry_latencies if gate == "entry" else tally.exit_latencies).append(elapsed)
            tally.note(f"{gate}:{action}")
            if action != expected[gate]:
                tally.errors.append(f"{lot.id} {gate} {plate}: {action}, not {expected[gate]}")

    return pair


def fixed_steps(requests: Callable[[int], Request], host: str) -> Step:
    """Two requests per pair (as many as the gate sends), each expected to answer 200."""

    async def pair(client: _Client, i: int, tally: Tally | None) -> None:
        for k in (2 * i, 2 * i + 1):
            started = time.perf_counter_ns()
            status, _ = await client.exchange(encode(requests(k), host))
            if tally is not None:
                tally.latencies.append(time.perf_counter_ns() - started)
                tally.note(str(status))
                if status != 200:
                    tally.errors.append(f"HTTP {status}")

    return pair


async def drive(
    host: str, port: int, steps: list[Step], pairs: int, warmup: int
) -> tuple[Tally, int]:
    """Every lot's steps at once: ``warmup`` untimed pairs, then ``pairs`` timed ones; the
    tally and the timed wall time in ns."""
    clients = [_Client(host, port) for _ in steps]

    async def lot(client: _Client, step: Step, first: int, count: int, tally: Tally | None) -> None:
        for i in range(first, first + count):
            await step(client, i, tally)

    try:
        await asyncio.gather(
            *(lot(c, s, 0, warmup, None) for c, s in zip(clients, steps, strict=True))
        )
        tally = Tally()
        started = time.perf_counter_ns()
        await asyncio.gather(
            *(lot(c, s, warmup, pairs, tally) for c, s in zip(clients, steps, strict=True))
        )
        return tally, time.perf_counter_ns() - started
    finally:
        for client in clients:
            client.close()


# --- one database -----------------------------------------------------------------------------


@dataclass
class Measured:
    stats: Stats
    server_cpu_us: float | None
    postgres_cpu_share: float | None
    statuses: dict[str, int]
    errors: list[str]
    entry: Stats | None = None
    exit: Stats | None = None

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "per_s": round(self.stats.ops_per_s, 1),
            "p50_ms": round(self.stats.p50_us / 1000, 3),
            "p99_ms": round(self.stats.p99_us / 1000, 3),
            "requests": self.stats.n,
            "server_cpu_us_per_request": self.server_cpu_us,
            "postgres_cpu_share": self.postgres_cpu_share,
            "statuses": self.statuses,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
        }
        for name, stats in (("entry", self.entry), ("exit", self.exit)):
            if stats is not None:
                doc[f"{name}_p50_ms"] = round(stats.p50_us / 1000, 3)
                doc[f"{name}_p99_ms"] = round(stats.p99_us / 1000, 3)
        return doc


Load = Callable[[], Coroutine[Any, Any, tuple[Tally, int]]]


def measure(server_pid: int, database: str | None, run: Load) -> Measured:
    meter = _CpuMeter(server_pid, database)
    tally, elapsed_ns = _run_async(run)
    _client_cpu, server_cpu, postgres_cpu = meter.read()
    stats = stats_of(tally.latencies, elapsed_ns)
    wall = elapsed_ns / 1e9
    return Measured(
        stats=stats,
        server_cpu_us=None if server_cpu is None else round(server_cpu / stats.n * 1e6, 1),
        postgres_cpu_share=None if postgres_cpu is None else round(postgres_cpu / wall, 3),
        statuses=tally.statuses,
        errors=tally.errors,
        entry=stats_of(tally.entry_latencies, elapsed_ns) if tally.entry_latencies else None,
        exit=stats_of(tally.exit_latencies, elapsed_ns) if tally.exit_latencies else None,
    )


def _run_async(run: Load) -> tuple[Tally, int]:
    """On uvloop when installed, as the server's loop is (``bench.api`` does the same)."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None
    try:
        loop_factory = importlib.import_module("uvloop").new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(run())


def run_database(name: str, pg_url: str, args: argparse.Namespace) -> dict[str, Any]:
    with open_target(name, pg_url) as (target, path):
        build_world(target.url)
        bare_keys = fill_bare_table(name, target.url, path)
        lots = build_lots(target.url, args.lots, args.plates)
        database = make_url(target.url).database if name == "postgresql" else None
        results: dict[str, Measured] = {}
        with (
            tempfile.TemporaryDirectory(prefix="platebind_bench_gate_") as log_dir,
            running_server(target.url, Path(log_dir)) as server,
        ):
            host = f"{server.host}:{server.port}"
            bare = BareSelect(bare_keys)
            plans: dict[str, list[Step]] = {
                "healthz": [fixed_steps(lambda _k: Request("GET", "/healthz"), host)] * args.lots,
                "bare": [fixed_steps(bare.request, host)] * args.lots,
                "gate": [gate_steps(lot, uuid.uuid4().hex[:8], host) for lot in lots],
            }
            for op, steps in plans.items():
                load = partial(drive, server.host, server.port, steps, args.pairs, WARMUP_PAIRS)
                results[op] = measure(server.pid, database, load)
        gate = results["gate"].stats
        return {
            "version": target.version,
            "settings": target.settings,
            "operations": {op: m.as_dict() for op, m in results.items()},
            "ratios": {
                "gate/healthz": round(ratio(gate, results["healthz"].stats), 4),
                "gate/bare": round(ratio(gate, results["bare"].stats), 4),
            },
            "errors": sum(len(m.errors) for m in results.values()),
        }


# --- report -----------------------------------------------------------------------------------


def print_report(
    results: dict[str, dict[str, Any]],
    skipped: dict[str, str],
    info: dict[str, Any],
    args: argparse.Namespace,
) -> None:
    print_title("gate", info, [r["version"] for n, r in results.items() if n == "postgresql"])
    print(
        f"{args.lots} lots at once, each one keep-alive connection posting entry then exit of "
        f"its next plate (half bound: card-free); {args.pairs} timed pairs per lot after "
        f"{WARMUP_PAIRS} untimed; server: uvicorn {info['uvicorn']} ({info['uvicorn_loop']}, "
        f"{info['uvicorn_http']}), 1 worker; load average {info['load_average']}"
    )
    headers = ["operation", "per s", "p50 ms", "p99 ms", "entry p50", "exit p50", "srv µs/req",
               "pg CPU%", "errors"]  # fmt: skip
    for name, r in results.items():
        print()
        rows: list[Sequence[object]] = []
        for op, m in r["operations"].items():
            share = m["postgres_cpu_share"]
            rows.append([op, m["per_s"], m["p50_ms"], m["p99_ms"], m.get("entry_p50_ms"),
                         m.get("exit_p50_ms"), m["server_cpu_us_per_request"],
                         None if share is None else round(share * 100), m["errors"]])  # fmt: skip
        print_table(headers, rows, title=f"{name} ({r['version']})")
        print("  " + " · ".join(f"{k} = {v:.3f}" for k, v in r["ratios"].items()))
        for op, m in r["operations"].items():
            if m["errors"]:
                print(f"  {op}: statuses {m['statuses']}; first errors: {m['first_errors']}")
        print(f"  gate answers: {r['operations']['gate']['statuses']}")
    print(
        "\nper s: gate decisions (or baseline requests) per second; ratios: gate decisions/s "
        "over the baseline's requests/s."
    )
    for name, reason in skipped.items():
        print(f"\n{name}: not measured — {reason}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gate", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--lots", type=int, default=DEFAULT_LOTS, help="lots posting at once")
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS, help="timed pairs per lot")
    parser.add_argument("--plates", type=int, default=DEFAULT_PLATES, help="plates per lot")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    parse_database_arguments(parser, args)
    for option in ("lots", "pairs", "plates"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    info = {**machine_info(), **server_info()}
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for name in args.databases:
        try:
            results[name] = run_database(name, args.pg_url, args)
        except Unavailable as exc:
            skipped[name] = str(exc)
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    valid = bool(results) and all(r["errors"] == 0 for r in results.values())
    if args.json:
        dump_json({"benchmark": "gate", "machine": info, "settings": vars(args),
                   "databases": results, "skipped": skipped, "valid": valid,
                   "run_seconds": round(time.perf_counter() - started, 1)})  # fmt: skip
    else:
        print_report(results, skipped, info, args)
        if not valid:
            print("\nINVALID RUN: unexpected answers or no database measured (see above)")
        print(f"\nrun time {time.perf_counter() - started:.1f} s")
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
