"""The HTTP API under load: platebind's hot routes against bare endpoints of the same server.

Run from the repository root::

    .venv/bin/python -m bench.api                        # both databases, report as a table
    .venv/bin/python -m bench.api --databases sqlite --requests 500 --json
    .venv/bin/python -m bench.api --duration 5           # a fixed time per operation instead

For each database, a scratch migrated database gets a world (three scopes, six agents with one
API key each) and a table as wide as ``bindings`` filled with rows; then a real uvicorn server
(one worker, uvloop + httptools as ``auto`` picks them, uvicorn's access log off, log level
warning) is started in a subprocess on a free loopback port with the app of
``create_app(url)`` plus, in this benchmark only, three bare routes on the same app:

- ``healthz``: ``GET /healthz``, platebind's own liveness route (``async def``, no database);
- ``bare``: ``GET /bench/bare?key=…``, a plain ``def`` route (FastAPI's threadpool, like
  platebind's routes) doing one primary-key SELECT with a raw DBAPI connection of the app's
  engine (one per worker thread, detached from the pool, autocommit: one round trip);
- ``bare_write``: ``POST /bench/bare-write?plate=…``, the same doing one one-row INSERT that
  commits by itself (autocommit), the raw counterpart of a bind;
- ``bind``: ``POST /v1/bindings``, a distinct valid plate per request (three letters without I
  or O, a non-zero number), round-robin over the six agents' keys;
- ``changes``: ``GET /v1/scopes/tpe-lots/changes?after=N&limit=100`` once the binds exist, the
  agents' keys in turn, each ``after`` chosen so that the page is full (100 changes).

The load comes from a separate process (started once, ``spawn``): ``--concurrency`` (16)
keep-alive HTTP/1.1 connections, one asyncio task each in one uvloop event loop, each sending
its next request as soon as the previous answer is read (closed loop). It is a minimal raw
client (pre-formatted requests, ``Content-Length`` framing), because ``httpx.AsyncClient``
costs more CPU per request than the server's bare routes and would measure itself; the report
gives the client's CPU use, so a run where the client is near one core shows it. Each
operation has an untimed warm-up, then a fixed number of requests (``--requests``) or a fixed
time (``--duration``); requests/s is the timed requests over the timed wall time, latencies
are per request (send to last byte). Any non-2xx answer or transport error, warm-up included,
makes the run invalid (exit status 1) and is reported.

Also reported per operation: the uvicorn process's CPU per request and its CPU use (100 % = one
core: a worker's Python code gets no more, only work outside the GIL such as SQLite's adds to
it), the CPU use of the PostgreSQL processes serving the scratch database and the client's, all
read from ``/proc`` over the timed part; on this 2-core machine they share the cores, with
whatever else runs there (the load average is reported at the start and the end).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib
import importlib.metadata
import json
import multiprocessing
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import psycopg
from fastapi import FastAPI, HTTPException
from sqlalchemy import make_url
from tqdm import tqdm

from bench.common import (
    Stats,
    Unavailable,
    add_database_arguments,
    dump_json,
    machine_info,
    parse_database_arguments,
    postgres_facts,
    print_table,
    print_title,
    progress,
    ratio,
    scratch_postgres,
    scratch_sqlite,
    sqlite_facts,
    stats_of,
)
from bench.registry import (
    BASELINE_COLUMNS,
    PG_BASELINE_DDL,
    PLATE_LETTERS,
    SQLITE_BASELINE_DDL,
)
from platebind.clock import SystemClock
from platebind.db import make_engine, make_session_factory, transaction
from platebind.registry import agents, scopes
from platebind.registry.audit import Actor

DEFAULT_REQUESTS = 800
DEFAULT_CONCURRENCY = 16
OPERATIONS = ("healthz", "bare", "bare_write", "bind", "changes")
BASELINES = ("bare", "healthz")
PLATEBIND_OPERATIONS = ("bind", "changes")
ROUTES = {
    "healthz": "GET /healthz",
    "bare": "GET /bench/bare?key=…",
    "bare_write": "POST /bench/bare-write?plate=…",
    "bind": "POST /v1/bindings",
    "changes": "GET /v1/scopes/tpe-lots/changes?after=N&limit=100",
}

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL_ENV = "PLATEBIND_BENCH_DATABASE_URL"
APP_FACTORY = "bench.api:bench_app"
SERVER_START_TIMEOUT_S = 30.0

SCOPE = "tpe-lots"
VEHICLE_TYPE = "car"
FEED_LIMIT = 100
ADMIN = Actor("admin", "bench")
# (scope id, name, kind, immediate), as in tests/registry/world.py.
SCOPES = (
    ("tpe-lots", "臺北市公有停車場", "lots", False),
    ("tpe-roadside", "臺北市路邊停車", "roadside", False),
    ("instant", "Immediate", "partner", True),
)
AGENTS = (
    ("cmj", "車麻吉"),
    ("pi", "Pi 拍錢包"),
    ("jko", "街口支付"),
    ("easy", "悠遊付"),
    ("linepay", "LINE Pay"),
    ("icash", "icash Pay"),
)
# Rows of the bare routes' table filled before the server starts (the bare SELECT's keys).
BARE_ROWS = 2000


def plate_at(index: int) -> str:
    """The ``index``-th valid car plate: ``AAA-0001``, ``AAA-0002``, … (distinct for each)."""
    prefix_index, number = divmod(index, 9999)
    letters = []
    for _ in range(3):
        prefix_index, digit = divmod(prefix_index, len(PLATE_LETTERS))
        letters.append(PLATE_LETTERS[digit])
    if prefix_index:
        raise ValueError(f"plate index {index} is out of range")
    return f"{''.join(reversed(letters))}-{number + 1:04d}"


# --- the benchmark's app: platebind plus bare routes (runs in the server process) ---------


def bench_app() -> FastAPI:
    """Uvicorn's factory (``--factory``): platebind's app plus this benchmark's bare routes."""
    from platebind.api.app import create_app

    app = create_app(os.environ[DATABASE_URL_ENV])
    install_bare_routes(app)
    return app


def install_bare_routes(app: FastAPI) -> None:
    """``/bench/bare`` and ``/bench/bare-write``: the raw driver, one statement, no ORM.

    Plain ``def`` routes like platebind's (so the threadpool hand-off is in both); each worker
    thread keeps one DBAPI connection made by the app's engine (its connect arguments and
    set-up, e.g. SQLite's PRAGMAs) and detached from the pool, in autocommit mode.
    """
    engine = app.state.engine
    postgres = engine.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    select_sql = f"SELECT * FROM bench_baseline WHERE id = {mark}"
    insert_sql = (
        f"INSERT INTO bench_baseline ({BASELINE_COLUMNS}) VALUES ({', '.join([mark] * 11)})"
    )
    local = threading.local()

    def driver() -> Any:
        conn = getattr(local, "conn", None)
        if conn is None:
            proxied = engine.raw_connection()
            conn = proxied.driver_connection
            proxied.detach()
            conn.rollback()  # out of any transaction the pool's checkout opened
            if postgres:
                conn.autocommit = True  # SQLite: the engine already sets isolation_level None
            local.conn = conn
        return conn

    @app.get("/bench/bare", include_in_schema=False)
    def bare(key: str) -> dict[str, str]:
        row = driver().execute(select_sql, (uuid.UUID(key) if postgres else key,)).fetchone()
        if row is None:
            raise HTTPException(404, "no such row")
        return {"id": str(row[0]), "plate": row[3]}

    @app.post("/bench/bare-write", include_in_schema=False, status_code=201)
    def bare_write(plate: str) -> dict[str, str]:
        key = uuid.uuid4()
        now: Any = datetime.now(UTC)
        if not postgres:
            now = now.replace(tzinfo=None).isoformat(" ")  # as SQLAlchemy stores it there
        driver().execute(insert_sql, _bare_row(key if postgres else key.hex, plate, now))
        return {"id": str(key), "plate": plate}


def _bare_row(key: uuid.UUID | str, plate: str, now: object) -> tuple[object, ...]:
    return (key, SCOPE, VEHICLE_TYPE, plate, AGENTS[0][0], now, None, now, None, None, now)


# --- what the clients send ------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    api_key: str | None = None
    body: bytes | None = None


class Source(Protocol):
    """The ``i``-th request of an operation (picklable: it travels to the load generator)."""

    def request(self, i: int) -> Request: ...


@dataclass(frozen=True)
class Fixed:
    method: str
    target: str

    def request(self, i: int) -> Request:
        return Request(self.method, self.target)


@dataclass(frozen=True)
class BareSelect:
    keys: tuple[str, ...]

    def request(self, i: int) -> Request:
        return Request("GET", f"/bench/bare?key={self.keys[i % len(self.keys)]}")


@dataclass(frozen=True)
class BareWrite:
    offset: int

    def request(self, i: int) -> Request:
        return Request("POST", f"/bench/bare-write?plate={plate_at(self.offset + i)}")


@dataclass(frozen=True)
class Binds:
    """A new plate per request (from ``offset``), the agents' keys in turn."""

    api_keys: tuple[str, ...]
    offset: int

    def request(self, i: int) -> Request:
        body = {"scope": SCOPE, "vehicle_type": VEHICLE_TYPE, "plate": plate_at(self.offset + i)}
        api_key = self.api_keys[i % len(self.api_keys)]
        return Request("POST", "/v1/bindings", api_key, json.dumps(body).encode())


@dataclass(frozen=True)
class Changes:
    """``(api key, after)`` pairs, cycled."""

    pages: tuple[tuple[str, int], ...]

    def request(self, i: int) -> Request:
        api_key, after = self.pages[i % len(self.pages)]
        target = f"/v1/scopes/{SCOPE}/changes?after={after}&limit={FEED_LIMIT}"
        return Request("GET", target, api_key)


def encode(request: Request, host: str) -> bytes:
    lines = [f"{request.method} {request.target} HTTP/1.1", f"Host: {host}"]
    if request.api_key is not None:
        lines.append(f"Authorization: Bearer {request.api_key}")
    body = request.body or b""
    if request.body is not None:
        lines.append("Content-Type: application/json")
    if request.body is not None or request.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- the load generator (a separate process) ------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One operation's load: ``warmup`` untimed requests, then ``n`` or ``duration`` s timed."""

    host: str
    port: int
    source: Source
    concurrency: int
    warmup: int
    first: int  # index of the first request (the ones before went to the smoke test)
    n: int | None
    duration: float | None
    server_pid: int
    postgres_database: str | None  # whose backends' CPU to count (PostgreSQL only)


@dataclass
class PhaseResult:
    stats: Stats | None
    sent: int  # requests sent, warm-up included
    statuses: dict[int, int]  # warm-up included; 0 = transport error
    timed_errors: int
    first_error: str | None
    client_cpu_s: float
    server_cpu_s: float | None
    postgres_cpu_s: float | None
    wall_s: float

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)


class _Counter(Protocol):
    value: int


class _Tally:
    """What the workers of one phase share (one event loop, so no locks)."""

    def __init__(self, first: int, count: int | None, deadline: float | None) -> None:
        self.next = first
        self.end = None if count is None else first + count
        self.deadline = deadline
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.first_error: str | None = None

    def take(self) -> int | None:
        if self.end is not None and self.next >= self.end:
            return None
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return None
        index = self.next
        self.next += 1
        return index

    def note(self, status: int, detail: bytes | str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if not 200 <= status < 300:
            self.errors += 1
            if self.first_error is None:
                text = detail if isinstance(detail, str) else detail.decode(errors="replace")
                self.first_error = f"{status or 'transport error'}: {text[:300]}"


class _Client:
    """One keep-alive HTTP/1.1 connection; reconnects after an error or ``Connection: close``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.get_extra_info("socket").setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
            )
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        start = lower.find(b"\r\ncontent-length:")
        if start >= 0:
            end = lower.find(b"\r\n", start + 2)
            body = await self.reader.readexactly(int(head[start + 17 : end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            body = await self._chunked()
        else:
            body = await self.reader.read()
            self.close()
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _worker(
    client: _Client,
    source: Source,
    host: str,
    tally: _Tally,
    latencies: list[int] | None,
    counter: _Counter,
) -> None:
    clock = time.perf_counter_ns
    while (index := tally.take()) is not None:
        raw = encode(source.request(index), host)
        started = clock()
        try:
            status, body = await client.exchange(raw)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            client.close()
            status, body = 0, f"{type(e).__name__}: {e}".encode()
        if latencies is not None:
            latencies.append(clock() - started)
        tally.note(status, body)
        counter.value += 1


async def _run_phase(phase: Phase, counter: _Counter) -> PhaseResult:
    host = f"{phase.host}:{phase.port}"
    clients = [_Client(phase.host, phase.port) for _ in range(phase.concurrency)]

    async def drive(tally: _Tally, latencies: list[int] | None) -> None:
        await asyncio.gather(
            *(_worker(c, phase.source, host, tally, latencies, counter) for c in clients)
        )

    try:
        warm = _Tally(phase.first, phase.warmup, None)
        await drive(warm, None)
        latencies: list[int] = []
        cpu = _CpuMeter(phase.server_pid, phase.postgres_database)
        started = time.perf_counter_ns()
        deadline = None if phase.duration is None else time.perf_counter() + phase.duration
        timed = _Tally(warm.next, phase.n, deadline)
        await drive(timed, latencies)
        elapsed_ns = time.perf_counter_ns() - started
        client_cpu, server_cpu, postgres_cpu = cpu.read()
    finally:
        for c in clients:
            c.close()
    statuses = dict(warm.statuses)
    for status, count in timed.statuses.items():
        statuses[status] = statuses.get(status, 0) + count
    return PhaseResult(
        stats=stats_of(latencies, elapsed_ns) if latencies else None,
        sent=timed.next - phase.first,
        statuses=statuses,
        timed_errors=timed.errors,
        first_error=warm.first_error or timed.first_error,
        client_cpu_s=client_cpu,
        server_cpu_s=server_cpu,
        postgres_cpu_s=postgres_cpu,
        wall_s=elapsed_ns / 1e9,
    )


def load_generator(conn: Connection, counter: _Counter) -> None:
    """The load generator process: runs each :class:`Phase` it receives, answers its result."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None
    try:
        loop_factory = importlib.import_module("uvloop").new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        while (phase := conn.recv()) is not None:
            try:
                conn.send(runner.run(_run_phase(phase, counter)))
            except Exception as exc:  # reported by the parent, which then stops
                conn.send(f"load generator failed: {type(exc).__name__}: {exc}")


# --- CPU accounting from /proc ------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``); None where unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds, by pid, of the local PostgreSQL server's processes that work for
    ``database``: its client backends and the shared ones (postmaster, WAL writer,
    checkpointer, …), not other databases' backends (other test runs on the machine)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            # A client backend's title: "postgres: user database host(port) state".
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().split()
        except (OSError, UnicodeDecodeError):
            continue
        client = len(title) >= 4 and ("(" in title[3] or title[3] == "[local]")
        if client and title[2] != database:
            continue
        cpu = _proc_cpu_s(int(entry.name))
        if cpu is not None:
            found[int(entry.name)] = cpu
    return found


class _CpuMeter:
    """CPU used from now to :meth:`read` by this process, the server and PostgreSQL."""

    def __init__(self, server_pid: int, postgres_database: str | None) -> None:
        self.server_pid = server_pid
        self.database = postgres_database
        self.client = time.process_time()
        self.server = _proc_cpu_s(server_pid)
        self.postgres = None if postgres_database is None else _postgres_cpu(postgres_database)

    def read(self) -> tuple[float, float | None, float | None]:
        client = time.process_time() - self.client
        now = _proc_cpu_s(self.server_pid)
        server = None if now is None or self.server is None else now - self.server
        postgres = None
        if self.postgres is not None and self.database is not None:
            before = self.postgres
            after = _postgres_cpu(self.database)
            postgres = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
        return client, server, postgres


class LoadGenerator:
    """The parent's handle on the load generator process (started once per run)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.counter: _Counter = context.Value("q", 0, lock=False)
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=load_generator, args=(child, self.counter), name="bench-load", daemon=True
        )
        self.process.start()
        child.close()

    def run(self, phase: Phase, bar: tqdm[Any]) -> PhaseResult:
        self.counter.value = 0
        seen = 0
        self.conn.send(phase)
        while not self.conn.poll(0.1):
            if not self.process.is_alive():
                raise RuntimeError("the load generator process died")
            done = self.counter.value
            bar.update(done - seen)
            seen = done
        result = self.conn.recv()
        bar.update(self.counter.value - seen)
        if isinstance(result, str):
            raise RuntimeError(result)
        assert isinstance(result, PhaseResult)
        return result

    def close(self) -> None:
        try:
            self.conn.send(None)
            self.process.join(5)
        except (OSError, EOFError):
            pass
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        self.conn.close()


# --- the server -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    pid: int
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def running_server(database_url: str, log_dir: Path) -> Iterator[Server]:
    """``uvicorn bench.api:bench_app`` on a free loopback port, stopped on exit."""
    for attempt in range(3):
        port = _free_port()
        log = log_dir / f"uvicorn-{port}.log"
        env = dict(os.environ)
        env[DATABASE_URL_ENV] = database_url
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        command = [
            sys.executable, "-m", "uvicorn", APP_FACTORY, "--factory",
            "--host", HOST, "--port", str(port), "--workers", "1",
            "--no-access-log", "--log-level", "warning", "--no-server-header",
        ]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            if _wait_ready(process, port):
                yield Server(HOST, port, process.pid, log)
                return
            if attempt == 2 or "address already in use" not in _log_tail(log).lower():
                raise RuntimeError(f"the server did not start:\n{_log_tail(log)}")
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            status, _ = http_request(HOST, port, Request("GET", "/healthz"), timeout=1)
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def http_request(host: str, port: int, request: Request, timeout: float = 10) -> tuple[int, Any]:
    """One request with the standard library (the smoke tests); the JSON answer if any."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if request.body is not None else {}
        if request.api_key is not None:
            headers["Authorization"] = f"Bearer {request.api_key}"
        conn.request(request.method, request.target, body=request.body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode(errors="replace")
    finally:
        conn.close()


# --- the database: world, bare rows, facts --------------------------------------------------


@dataclass
class Target:
    """A migrated scratch database with the world built; the keys the clients use."""

    name: str
    url: str
    version: str
    settings: dict[str, str]
    api_keys: dict[str, str] = field(default_factory=dict)
    bare_keys: tuple[str, ...] = ()


def build_world(url: str) -> dict[str, str]:
    """Three scopes and six agents accredited for all of them; returns each agent's API key."""
    engine = make_engine(url)
    clock = SystemClock()
    keys: dict[str, str] = {}
    try:
        with transaction(make_session_factory(engine)) as s:
            for scope_id, name, kind, immediate in SCOPES:
                scopes.add_scope(
                    s,
                    clock,
                    ADMIN,
                    scope_id=scope_id,
                    name=name,
                    kind=kind,
                    cutover="04:00",
                    lead_hours=1,
                    immediate=immediate,
                )
            for agent_id, name in AGENTS:
                _, keys[agent_id] = agents.add_agent(
                    s, clock, ADMIN, agent_id=agent_id, name=name, scopes=[sc[0] for sc in SCOPES]
                )
    finally:
        engine.dispose()
    return keys


def _bare_rows(make_key: Callable[[uuid.UUID], uuid.UUID | str], now: object) -> list[Any]:
    rng = random.Random(42)
    return [
        _bare_row(make_key(uuid.UUID(int=rng.getrandbits(128), version=4)), plate_at(i), now)
        for i in range(BARE_ROWS)
    ]


def fill_bare_table(name: str, url: str, path: Path | None) -> tuple[str, ...]:
    """Create ``bench_baseline`` (as wide as ``bindings``) and fill it; returns the row keys."""
    now = datetime.now(UTC)
    if name == "sqlite":
        assert path is not None
        rows = _bare_rows(lambda key: key.hex, now.replace(tzinfo=None).isoformat(" "))
        with sqlite3.connect(path) as conn:
            conn.execute(SQLITE_BASELINE_DDL)
            conn.executemany(
                f"INSERT INTO bench_baseline ({BASELINE_COLUMNS}) VALUES ({', '.join('?' * 11)})",
                rows,
            )
        conn.close()
        keys = [str(row[0]) for row in rows]
    else:
        rows = _bare_rows(lambda key: key, now)
        with psycopg.connect(url) as pg:
            pg.execute(PG_BASELINE_DDL)
            with pg.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO bench_baseline ({BASELINE_COLUMNS}) "
                    f"VALUES ({', '.join(['%s'] * 11)})",
                    rows,
                )
        keys = [row[0].hex for row in rows]
    random.Random(7).shuffle(keys)
    return tuple(keys)


def feed_pages(target: Target, path: Path | None) -> tuple[tuple[tuple[str, int], ...], bool]:
    """``(api key, after)`` pairs for full pages of each agent's changes in ``tpe-lots``.

    An agent sees only its own changes, so ``after`` is one of its own ``seq`` with at least
    ``FEED_LIMIT`` more after it. Also says whether every page is full (enough binds).
    """
    query = "SELECT agent_id, seq FROM binding_changes WHERE scope_id = {} ORDER BY seq"
    if target.name == "sqlite":
        assert path is not None
        with sqlite3.connect(path) as conn:
            rows = conn.execute(query.format("?"), (SCOPE,)).fetchall()
        conn.close()
    else:
        with psycopg.connect(target.url) as pg:
            rows = pg.execute(query.format("%s"), (SCOPE,)).fetchall()
    seqs: dict[str, list[int]] = {agent_id: [] for agent_id in target.api_keys}
    for agent_id, seq in rows:
        seqs.setdefault(agent_id, []).append(int(seq))
    pages: list[tuple[str, int]] = []
    full = True
    for agent_id, own in seqs.items():
        afters = [0, *own[: max(0, len(own) - FEED_LIMIT)]]
        full = full and len(own) >= FEED_LIMIT
        pages.extend((target.api_keys[agent_id], after) for after in afters)
    random.Random(42).shuffle(pages)
    return tuple(pages), full


def count_bindings(target: Target, path: Path | None) -> int:
    query = "SELECT count(*) FROM bindings"
    if target.name == "sqlite":
        assert path is not None
        with sqlite3.connect(path) as conn:
            count = int(conn.execute(query).fetchone()[0])
        conn.close()
        return count
    with psycopg.connect(target.url) as pg:
        row = pg.execute(query).fetchone()
    return 0 if row is None else int(row[0])


@contextmanager
def open_target(name: str, pg_url: str) -> Iterator[tuple[Target, Path | None]]:
    if name == "sqlite":
        with scratch_sqlite() as (url, path):
            with sqlite3.connect(path) as conn:
                # The settings platebind's engine gives its connections (WAL persists).
                conn.execute("PRAGMA synchronous=NORMAL")
                facts = sqlite_facts(conn)
            conn.close()
            yield Target(name, url, sqlite3.sqlite_version, facts), path
    else:
        with scratch_postgres(pg_url) as url:
            with psycopg.connect(url, autocommit=True) as pg:
                version, facts = postgres_facts(pg)
            yield Target(name, url, version, facts), None


# --- one database -----------------------------------------------------------------------------


@dataclass
class OperationResult:
    route: str
    result: PhaseResult
    smoke: str

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        s = r.stats
        per_request = None if s is None or r.server_cpu_s is None else r.server_cpu_s / s.n * 1e6
        return {
            "route": self.route,
            "stats": None if s is None else s.as_dict(),
            "requests_per_s": None if s is None else round(s.ops_per_s, 1),
            "p50_ms": None if s is None else round(s.p50_us / 1000, 3),
            "p99_ms": None if s is None else round(s.p99_us / 1000, 3),
            "errors": r.errors,
            "timed_errors": r.timed_errors,
            "statuses": {str(k): v for k, v in sorted(r.statuses.items())},
            "first_error": r.first_error,
            "requests_sent": r.sent,
            "server_cpu_us_per_request": None if per_request is None else round(per_request, 1),
            "server_cpu_share": _share(r.server_cpu_s, r.wall_s),
            "postgres_cpu_share": _share(r.postgres_cpu_s, r.wall_s),
            "client_cpu_share": _share(r.client_cpu_s, r.wall_s),
            "smoke": self.smoke,
        }


def _share(cpu_s: float | None, wall_s: float) -> float | None:
    """CPU seconds per wall second (1.0 = one core busy)."""
    return None if cpu_s is None or wall_s <= 0 else round(cpu_s / wall_s, 3)


@dataclass
class DatabaseResult:
    name: str
    version: str
    settings: dict[str, str]
    operations: dict[str, OperationResult]
    bindings_created: int
    bindings_expected: int
    full_feed_pages: bool

    def stats(self, op: str) -> Stats | None:
        result = self.operations.get(op)
        return None if result is None else result.result.stats

    def ratio(self, op: str, baseline: str) -> float | None:
        measured, base = self.stats(op), self.stats(baseline)
        return None if measured is None or base is None else ratio(measured, base)

    def ratios(self) -> dict[str, float | None]:
        pairs = [(op, base) for op in PLATEBIND_OPERATIONS for base in BASELINES]
        pairs.append(("bind", "bare_write"))
        return {f"{op}/{base}": self.ratio(op, base) for op, base in pairs}

    @property
    def errors(self) -> int:
        return sum(o.result.errors for o in self.operations.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "settings": self.settings,
            "operations": {op: o.as_dict() for op, o in self.operations.items()},
            "ratios": {
                key: None if value is None else round(value, 4)
                for key, value in self.ratios().items()
            },
            "errors": self.errors,
            "bindings_created": self.bindings_created,
            "bindings_expected": self.bindings_expected,
            "full_feed_pages": self.full_feed_pages,
        }


class SmokeFailed(Exception):
    """The first request of an operation was not answered as expected."""


def smoke(server: Server, op: str, source: Source) -> str:
    """Send request 0 of ``source`` and check the answer before loading the route."""
    status, body = http_request(server.host, server.port, source.request(0))
    expected = 201 if op in ("bind", "bare_write") else 200
    if status != expected:
        raise SmokeFailed(f"{op}: expected {expected}, got {status}: {str(body)[:300]}")
    if op == "changes":
        changes = body.get("changes", []) if isinstance(body, dict) else []
        return f"{status}, {len(changes)} changes, has_more={body.get('has_more')}"
    if op == "bind" and isinstance(body, dict):
        return f"{status}, plate {body.get('plate')}, status {body.get('status')}"
    return f"{status}"


def run_database(
    target: Target,
    path: Path | None,
    generator: LoadGenerator,
    args: argparse.Namespace,
    bar: tqdm[Any],
) -> DatabaseResult:
    target.api_keys = build_world(target.url)
    target.bare_keys = fill_bare_table(target.name, target.url, path)
    keys = tuple(target.api_keys.values())
    operations: dict[str, OperationResult] = {}
    full_pages = True
    with (
        tempfile.TemporaryDirectory(prefix="platebind_bench_api_") as log_dir,
        running_server(target.url, Path(log_dir)) as server,
    ):
        for op in OPERATIONS:
            bar.set_description(f"{target.name} {op}")
            source: Source
            if op == "healthz":
                source = Fixed("GET", "/healthz")
            elif op == "bare":
                source = BareSelect(target.bare_keys)
            elif op == "bare_write":
                source = BareWrite(offset=BARE_ROWS)
            elif op == "bind":
                source = Binds(keys, offset=0)
            else:
                pages, full_pages = feed_pages(target, path)
                source = Changes(pages)
            try:
                checked = smoke(server, op, source)
            except SmokeFailed as exc:
                raise SmokeFailed(f"{exc}\nserver log:\n{_log_tail(server.log)}") from None
            bar.update(1)
            phase = Phase(
                host=server.host,
                port=server.port,
                source=source,
                concurrency=args.concurrency,
                warmup=args.warmup,
                first=1,
                n=args.requests,
                duration=args.duration,
                server_pid=server.pid,
                postgres_database=(
                    make_url(target.url).database if target.name == "postgresql" else None
                ),
            )
            result = generator.run(phase, bar)
            operations[op] = OperationResult(ROUTES[op], result, checked)
    binds = operations["bind"].result
    expected = 1 + binds.statuses.get(201, 0)
    return DatabaseResult(
        target.name,
        target.version,
        target.settings,
        operations,
        count_bindings(target, path),
        expected,
        full_pages,
    )


# --- report -----------------------------------------------------------------------------------


def _ms(value: float | None) -> float | None:
    return None if value is None else value / 1000


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100)


def print_report(
    results: list[DatabaseResult],
    skipped: dict[str, str],
    info: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    print_title("API", info, [r.version for r in results if r.name == "postgresql"])
    print(
        f"server: uvicorn {info['uvicorn']} ({info['uvicorn_loop']}, {info['uvicorn_http']}), "
        f"1 worker, FastAPI {info['fastapi']}; uvicorn access log off, platebind's JSON "
        "request log on (to a file)"
    )
    size = (
        f"{settings['requests']:,} timed requests"
        if settings["duration"] is None
        else f"{settings['duration']:g} s"
    )
    print(
        f"load: {settings['concurrency']} concurrent keep-alive connections from one asyncio "
        f"process ({info['client_loop']}); {size} per operation after "
        f"{settings['warmup']:,} warm-up requests; load average {info['load_average']} at the "
        f"start, {info['load_average_end']} at the end"
    )
    for r in results:
        print(f"{r.name} settings: " + ", ".join(f"{k}={v}" for k, v in r.settings.items()))
    headers = [
        "operation", "req/s", "p50 ms", "p99 ms", "errors", "×bare", "×healthz",
        "srv µs/req", "srv CPU%", "pg CPU%", "client CPU%",
    ]  # fmt: skip
    for r in results:
        print()
        rows: list[Sequence[object]] = []
        for op, o in r.operations.items():
            s, d = o.result.stats, o.as_dict()
            rows.append(
                [
                    op,
                    None if s is None else s.ops_per_s,
                    _ms(None if s is None else s.p50_us),
                    _ms(None if s is None else s.p99_us),
                    o.result.errors,
                    r.ratio(op, "bare"),
                    r.ratio(op, "healthz"),
                    d["server_cpu_us_per_request"],
                    _percent(d["server_cpu_share"]),
                    _percent(d["postgres_cpu_share"]),
                    _percent(d["client_cpu_share"]),
                ]
            )
        print_table(headers, rows, title=f"{r.name} ({r.version})")
        ratios = r.ratios()
        print(
            "  "
            + " · ".join(
                f"{key} = {value:.3f}" for key, value in ratios.items() if value is not None
            )
        )
        print(
            f"  bindings created {r.bindings_created:,} (expected {r.bindings_expected:,}); "
            f"changes pages {'all full' if r.full_feed_pages else 'NOT all full'} "
            f"({FEED_LIMIT} changes)"
        )
        for op, o in r.operations.items():
            if o.result.errors:
                print(f"  {op}: statuses {o.result.statuses}; first: {o.result.first_error}")
    print()
    for op in OPERATIONS:
        print(f"{op:<10}  {ROUTES[op]}")
    print(
        "×bare, ×healthz: the operation's req/s over the bare route's / /healthz's (same run, "
        "same server).\nsrv: the uvicorn process (its Python code gets one core at most; above "
        "100 % is work outside the GIL,\ne.g. in SQLite); pg: the PostgreSQL processes serving "
        "the scratch database; client: the load\ngenerator; CPU over the timed requests only."
    )
    for name, reason in skipped.items():
        print(f"\n{name}: not measured — {reason}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--requests",
        type=int,
        default=None,
        help=f"timed requests per operation (default {DEFAULT_REQUESTS:,})",
    )
    size.add_argument(
        "--duration", type=float, default=None, help="timed seconds per operation instead"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed requests before each operation (default requests/10, ≥ 100)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"concurrent client connections (default {DEFAULT_CONCURRENCY})",
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    parse_database_arguments(parser, args)
    if args.duration is None and args.requests is None:
        args.requests = DEFAULT_REQUESTS
    if args.requests is not None and args.requests < 1:
        parser.error("--requests must be at least 1")
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be positive")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.warmup is None:
        args.warmup = max(100, (args.requests or 0) // 10)
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def server_info() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    def importable(module: str) -> bool:
        try:
            importlib.import_module(module)
        except ImportError:
            return False
        return True

    uvloop = importable("uvloop")
    return {
        "uvicorn": version("uvicorn"),
        "fastapi": version("fastapi"),
        # What uvicorn's "auto" picks (uvicorn.loops.auto, uvicorn.protocols.http.auto).
        "uvicorn_loop": "uvloop" if uvloop else "asyncio",
        "uvicorn_http": "httptools" if importable("httptools") else "h11",
        "client_loop": "uvloop" if uvloop else "asyncio",
    }


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    info = {**machine_info(), **server_info()}
    settings = {
        "requests": args.requests,
        "duration": args.duration,
        "warmup": args.warmup,
        "concurrency": args.concurrency,
        "databases": args.databases,
        "scope": SCOPE,
        "agents": [agent_id for agent_id, _ in AGENTS],
        "feed_limit": FEED_LIMIT,
        "bare_rows": BARE_ROWS,
    }
    results: list[DatabaseResult] = []
    skipped: dict[str, str] = {}
    with ExitStack() as stack:
        generator = LoadGenerator()
        stack.callback(generator.close)
        for name in args.databases:
            total = (
                None
                if args.requests is None
                else len(OPERATIONS) * (1 + args.warmup + args.requests)
            )
            try:
                with (
                    open_target(name, args.pg_url) as (target, path),
                    progress(total, name, enabled=not args.json) as bar,
                ):
                    results.append(run_database(target, path, generator, args, bar))
            except Unavailable as exc:
                skipped[name] = str(exc)
                if not args.json:
                    print(f"{exc}; carrying on without it", file=sys.stderr)
    info["postgresql"] = next((r.version for r in results if r.name == "postgresql"), None)
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    valid = all(
        r.errors == 0 and r.bindings_created == r.bindings_expected for r in results
    ) and bool(results)
    run_seconds = time.perf_counter() - started
    if args.json:
        dump_json(
            {
                "benchmark": "api",
                "machine": info,
                "settings": settings,
                "databases": {r.name: r.as_dict() for r in results},
                "skipped": skipped,
                "valid": valid,
                "run_seconds": round(run_seconds, 1),
            }
        )
    else:
        print_report(results, skipped, info, settings)
        if not valid:
            print("\nINVALID RUN: errors, missing bindings or no database measured (see above)")
        print(f"\nrun time {run_seconds:.1f} s")
    return 0 if valid else 1


if __name__ == "__main__":
    # Run as bench.api, not __main__, so the load generator process (spawn) and this one
    # pickle the same classes.
    from bench import api

    sys.exit(api.main())
