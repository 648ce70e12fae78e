"""Timing and reporting helpers shared by the benchmarks in ``bench/``.

Every benchmark measures an operation and a baseline in the same run and reports the ratio, so
figures from different machines or runs are compared as ratios, never as absolute numbers.

- :func:`measure` runs an operation ``n`` times (after a warm-up) and returns :class:`Stats`
  (throughput, p50 and p99 latency);
- :func:`progress` is the stderr progress bar (tqdm), switched off for ``--json``;
- :func:`print_table` and :func:`dump_json` render the results;
- :func:`machine_info` says what the figures were measured on, :func:`sqlite_facts` and
  :func:`postgres_facts` what the databases were set to;
- :func:`scratch_sqlite` and :func:`scratch_postgres` give a migrated throw-away database;
- :func:`count_statements` lists the statements SQLAlchemy sends during one call, and
  :func:`trace_round_trips` / :func:`trace_engine_round_trips` the PostgreSQL round trips
  (from libpq's protocol trace, so ``BEGIN``, ``COMMIT`` and the pool's ping count too).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

import psycopg
from psycopg import pq
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from tqdm import tqdm

from platebind.db import upgrade

# How often the progress bar is advanced: often enough to move, rarely enough to cost nothing.
_PROGRESS_EVERY = 128


@dataclass(frozen=True)
class Stats:
    """One measurement: ``n`` operations, their throughput and latency percentiles."""

    n: int
    seconds: float
    ops_per_s: float
    p50_us: float
    p99_us: float
    mean_us: float
    max_us: float

    def as_dict(self) -> dict[str, float | int]:
        return {key: _round(value) for key, value in asdict(self).items()}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of values sorted ascending."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def measure(
    fn: Callable[[], object],
    n: int,
    *,
    warmup: int = 0,
    bar: tqdm[Any] | None = None,
) -> Stats:
    """Call ``fn`` ``warmup`` times untimed, then ``n`` times timed, one call at a time.

    Throughput is ``n`` over the wall time of the timed loop (so it includes what happens
    between calls, e.g. garbage collection); latencies are per call. The garbage collector
    stays on, as in a server, but starts each measurement empty.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    for i in range(warmup):
        fn()
        if bar is not None and (i + 1) % _PROGRESS_EVERY == 0:
            bar.update(_PROGRESS_EVERY)
    if bar is not None:
        bar.update(warmup % _PROGRESS_EVERY)
    gc.collect()
    latencies_ns = [0] * n
    clock = time.perf_counter_ns
    started = clock()
    for i in range(n):
        t0 = clock()
        fn()
        latencies_ns[i] = clock() - t0
        if bar is not None and (i + 1) % _PROGRESS_EVERY == 0:
            bar.update(_PROGRESS_EVERY)
    elapsed_ns = clock() - started
    if bar is not None:
        bar.update(n % _PROGRESS_EVERY)
    return stats_of(latencies_ns, elapsed_ns)


def stats_of(latencies_ns: Sequence[int], elapsed_ns: int) -> Stats:
    us = sorted(ns / 1000 for ns in latencies_ns)
    seconds = elapsed_ns / 1e9
    return Stats(
        n=len(us),
        seconds=seconds,
        ops_per_s=len(us) / seconds if seconds > 0 else math.inf,
        p50_us=percentile(us, 50),
        p99_us=percentile(us, 99),
        mean_us=sum(us) / len(us),
        max_us=us[-1],
    )


def ratio(measured: Stats, baseline: Stats) -> float:
    """Throughput ratio: the operation's ops/s over the baseline's (1.0 = as fast as raw)."""
    return measured.ops_per_s / baseline.ops_per_s


def progress(total: int | None, description: str, *, enabled: bool = True) -> tqdm[Any]:
    """A progress bar on stderr (stdout stays clean for the report or the JSON document).

    ``total=None`` for work of unknown size (e.g. a fixed duration): a counter and a rate.
    """
    return tqdm(
        total=total,
        desc=description,
        unit="op",
        file=sys.stderr,
        disable=not enabled,
        leave=False,
        dynamic_ncols=True,
    )


def machine_info() -> dict[str, Any]:
    """Cores, Python and the embedded SQLite; add server versions per database."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        # Other work on the machine skews absolute figures; ratios from one run much less so.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux); None elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                name, _, value = line.partition(":")
                if name.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return None


def usable_cores() -> int | None:
    """The cores this process may run on (what ``nproc`` prints), which a container or
    ``taskset`` can make fewer than ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def format_number(value: object) -> str:
    """Figures for people: thousands separators, no false precision."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.1f}"
        return f"{value:.3f}"
    return str(value)


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str | None = None,
    file: TextIO | None = None,
) -> None:
    """A plain-text table; numbers right-aligned, text left-aligned."""
    out = file or sys.stdout
    cells = [[format_number(v) for v in row] for row in rows]
    numeric = _numeric_columns(headers, cells)
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        columns = zip(values, widths, numeric, strict=True)
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in columns).rstrip()

    if title:
        print(title, file=out)
    print(line(list(headers)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print(line(row), file=out)


def _numeric_columns(headers: Sequence[str], cells: list[list[str]]) -> list[bool]:
    def looks_numeric(text: str) -> bool:
        return text == "-" or text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()

    return [
        bool(cells) and all(looks_numeric(row[i]) for row in cells) for i in range(len(headers))
    ]


def _round(value: float | int) -> float | int:
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 3)
    return value


def _json_default(value: object) -> object:
    if isinstance(value, Stats):
        return value.as_dict()
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dump_json(document: object, *, file: TextIO | None = None) -> None:
    """One JSON document (``Stats`` rendered as dicts), nothing else, on stdout by default."""
    out = file or sys.stdout
    json.dump(document, out, indent=2, ensure_ascii=False, default=_json_default)
    out.write("\n")


# --- what an operation sends to the database -----------------------------------------------


_SELECT_LIST = re.compile(r"^SELECT (?!\*).+? FROM ", re.I)
_INSERT_LISTS = re.compile(r"^(INSERT INTO \S+) \(.+?\) VALUES \(.+?\)", re.I)


def _short(sql: str, width: int = 110) -> str:
    """SQL on one line, column and value lists elided: what a statement does, at a glance."""
    text = " ".join(sql.split())
    text = _SELECT_LIST.sub("SELECT … FROM ", text)
    text = _INSERT_LISTS.sub(r"\1 (…) VALUES (…)", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def count_statements(engine: Engine, fn: Callable[[], object]) -> list[str]:
    """The statements SQLAlchemy executes during one call of ``fn`` (``before_cursor_execute``).

    On PostgreSQL this misses the driver's own ``BEGIN``/``COMMIT`` and the pool's ping; see
    :func:`trace_engine_round_trips` for the full count.
    """
    seen: list[str] = []

    def record(
        _conn: object, _cursor: object, statement: str, *_args: object, **_kwargs: object
    ) -> None:
        seen.append(_short(statement))

    event.listen(engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


# A libpq trace line: direction, length, message type, contents.
_TRACE_LINE = re.compile(r"^(?P<dir>[FB])\t\d+\t(?P<type>\w+)\t?(?P<rest>.*)$", re.S)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def trace_round_trips(connection: psycopg.Connection[Any], fn: Callable[[], object]) -> list[str]:
    """The client/server round trips ``connection`` makes during one call of ``fn``.

    Counted from libpq's protocol trace: each simple ``Query`` or extended-protocol ``Sync``
    the client sends waits for the server's answer. Each is labelled with its SQL (prepared
    statements are resolved through ``pg_prepared_statements`` afterwards).
    """
    pgconn = connection.pgconn
    with tempfile.TemporaryFile("w+") as log:
        pgconn.trace(os.dup(log.fileno()))  # libpq closes its copy on untrace
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            fn()
        finally:
            pgconn.untrace()
        log.seek(0)
        lines = log.read().splitlines()
    trips = _round_trips_of(_messages(lines))
    if any(trip.startswith("prepared ") for trip in trips):
        names = _prepared_statements(connection)
        trips = [_resolve(trip, names) for trip in trips]
    return trips


def _messages(lines: list[str]) -> list[str]:
    """Trace lines joined into messages: SQL with line breaks spans several lines."""
    messages: list[str] = []
    for line in lines:
        if _TRACE_LINE.match(line) or not messages:
            messages.append(line)
        else:
            messages[-1] += "\n" + line
    return messages


def _round_trips_of(messages: list[str]) -> list[str]:
    trips: list[str] = []
    pending: list[str] = []  # what the current extended-protocol exchange runs
    for message in messages:
        match = _TRACE_LINE.match(message)
        if match is None or match["dir"] != "F":
            continue
        kind, rest = match["type"], match["rest"]
        quoted = _QUOTED.findall(rest)
        if kind == "Query":
            sql = quoted[0] if quoted else rest
            # SQLAlchemy's pool_pre_ping on PostgreSQL sends an empty statement.
            trips.append("; (pool pre-ping)" if sql.strip() == ";" else _short(sql))
        elif kind == "Parse" and len(quoted) >= 2:
            pending.append(
                f"prepare {quoted[0]}: {_short(quoted[1])}" if quoted[0] else _short(quoted[1])
            )
        elif kind == "Bind" and len(quoted) >= 2 and quoted[1]:
            pending.append(f"prepared {quoted[1]}")
        elif kind == "Sync":
            trips.append(" + ".join(pending) or "sync")
            pending = []
    return trips


def _prepared_statements(connection: psycopg.Connection[Any]) -> dict[str, str]:
    rows = connection.execute("SELECT name, statement FROM pg_prepared_statements").fetchall()
    if not connection.autocommit:
        # Not rollback(): a ROLLBACK makes psycopg forget (and deallocate) every prepared statement.
        connection.commit()
    return {str(name): _short(str(statement)) for name, statement in rows}


def _resolve(trip: str, names: dict[str, str]) -> str:
    def one(part: str) -> str:
        if part.startswith("prepared "):
            name = part.removeprefix("prepared ")
            return f"{names[name]} [prepared]" if name in names else part
        return part

    return " + ".join(one(part) for part in trip.split(" + "))


def trace_engine_round_trips(engine: Engine, fn: Callable[[], object]) -> list[str] | None:
    """Round trips of one call of ``fn`` that uses ``engine`` (PostgreSQL/psycopg only).

    Meant for single-threaded benchmarks: the pool then holds one connection, which is traced
    from before its checkout (so the pool's pre-ping counts). None if ``fn`` used another one.
    """
    with engine.connect() as conn:
        target = conn.connection.driver_connection
    if not isinstance(target, psycopg.Connection):
        return None
    used: list[object] = []

    def on_checkout(dbapi_connection: object, _record: object, _proxy: object) -> None:
        used.append(getattr(dbapi_connection, "driver_connection", dbapi_connection))

    event.listen(engine, "checkout", on_checkout)
    try:
        trips = trace_round_trips(target, fn)
    finally:
        event.remove(engine, "checkout", on_checkout)
    return trips if used and all(c is target for c in used) else None


# --- scratch databases --------------------------------------------------------------------

SQLITE_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class Unavailable(Exception):
    """A database that cannot be benchmarked in this run (e.g. PostgreSQL is not running)."""


@contextmanager
def scratch_sqlite() -> Iterator[tuple[str, Path]]:
    """A migrated SQLite database in a temporary directory: ``(url, path)``."""
    with tempfile.TemporaryDirectory(prefix="platebind_bench_") as tmp:
        path = Path(tmp) / "platebind.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url, path


def libpq_url(url: str) -> str:
    """A libpq URL from a SQLAlchemy-style one (``postgresql+psycopg://`` → ``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    """A migrated database ``platebind_bench_<random>`` on the server, dropped afterwards.

    ``admin_url`` names a database to connect to for ``CREATE DATABASE`` (e.g. ``postgres``);
    yields the scratch database's libpq URL. Raises :class:`Unavailable` if unreachable.
    """
    admin = libpq_url(admin_url)
    name = f"platebind_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise Unavailable(f"PostgreSQL unreachable at {safe_url(admin_url)}: {exc}") from exc
    try:
        url = libpq_url(str(make_url(admin).set(database=name)))
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_facts(conn: sqlite3.Connection) -> dict[str, str]:
    """The settings that decide SQLite's write cost, as ``conn`` has them."""
    journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
    return {
        "journal_mode": str(journal_mode),
        "synchronous": SQLITE_SYNCHRONOUS.get(synchronous, str(synchronous)),
    }


def postgres_facts(conn: psycopg.Connection[Any]) -> tuple[str, dict[str, str]]:
    """The server version and the settings that decide a commit's cost."""

    def show(setting: str) -> str:
        row = conn.execute(f"SHOW {setting}").fetchone()
        return "?" if row is None else str(row[0])

    return show("server_version"), {
        s: show(s) for s in ("fsync", "synchronous_commit", "shared_buffers")
    }


DEFAULT_PG_URL = os.environ.get(
    "PLATEBIND_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATABASES = ("sqlite", "postgresql")


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--databases``, ``--pg-url`` and ``--json``, the options every benchmark takes."""
    parser.add_argument(
        "--databases",
        default=",".join(DATABASES),
        help="comma-separated: sqlite,postgresql (default both)",
    )
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help="PostgreSQL server URL; a scratch database is created and dropped "
        "there (default $PLATEBIND_BENCH_PG_URL or %(default)s)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document with all figures, nothing else"
    )


def parse_database_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Turn ``--databases`` into a checked list (a usage error names the unknown ones)."""
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.databases) - set(DATABASES)
    if unknown or not args.databases:
        parser.error(f"--databases takes {', '.join(DATABASES)}, not {', '.join(unknown)}")


def print_title(benchmark: str, info: dict[str, Any], postgres_versions: list[str]) -> None:
    """The first line of a report: what ran, on how many cores, against which databases."""
    servers = " · ".join(f"PostgreSQL {v}" for v in postgres_versions)
    print(
        f"platebind {benchmark} benchmark — {info['cores']} cores · Python {info['python']} · "
        f"SQLite {info['sqlite']}" + (f" · {servers}" if servers else "")
    )
