"""A realistic mix of requests against ``platebind serve`` with 1 and 2 worker processes on
PostgreSQL: throughput, p50 and p99 per operation as ratios to a bare endpoint, and scaling.

Run from the repository root::

    .venv/bin/python -m bench.load                       # 1 and 2 workers, 20 s per phase
    .venv/bin/python -m bench.load --seconds 5 --clients 8 --json

A scratch PostgreSQL database (created on ``--pg-url``'s server, dropped at the end) gets a
world built through the services, the same for every run: three scopes and six agents with
one API key each (``bench.api``); one lot per client in the immediate scope ``instant``, each
with a lot key and 40 plates of which half are bound (``bench.gate``); ``MEMBERS`` portal
members, each owning (vehicle registry extract) and listing four of those plates. Then, for
each worker count, the real server runs as a subprocess::

    platebind serve --workers N --no-worker --database-url URL --host 127.0.0.1 --port P

(the production command: uvicorn's access log and platebind's JSON request log on, both to a
file) and ``--clients`` closed-loop clients (one keep-alive HTTP/1.1 connection each, renewed
every ``--reconnect-every`` requests so that the workers share the connections; one asyncio
task each in one uvloop event loop in this process, each sending its next request as soon as
the previous answer is read) drive, after ``--warmup`` untimed seconds of the mix:

1. ``bare``: ``GET /healthz`` only (no database), ``--seconds`` long: the baseline;
2. ``mix``: each client draws its next operation from ``MIX`` (seeded), ``--seconds`` long;
3. with ``--solo S``, for the first worker count only: each operation alone, ``S`` seconds
   each, for what one request of each costs.

Per operation of the mix: count, requests/s, p50 and p99 (send to last byte), each as a ratio
to the bare phase's figure of the same server in the same run; ``healthz`` inside the mix
shows how much of a latency is waiting behind other requests rather than the route's work.
The mix's total requests/s at 2 workers over 1 worker is the scaling factor.

Every answer is checked (warm-up included): the status, a gate's action (entry of a bound
plate ``open``, else ``ticket``; exit ``open`` or ``pay``), a look-up finding its plate, a
portal page answered to the logged-in member (not a redirect to the log-in page). Any other
answer is an error, reported per operation, and makes the run invalid (exit status 1).

CPU over each timed phase, from ``/proc``: the server's processes (the ``serve`` process and
its uvicorn workers, each listed with the clients' connections it held), the PostgreSQL
processes serving the scratch database plus the shared ones, and this process (the load
generator). They share the machine's cores with each other and with whatever else runs (load
average at start and end).

The client is the minimal raw HTTP client of ``bench.api`` (pre-formatted requests), not
httpx, because httpx costs more CPU per request than the bare endpoint it would measure.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import make_url
from tqdm import tqdm

from bench.api import (
    REPO_ROOT,
    _Client,
    _free_port,
    _log_tail,
    _postgres_cpu,
    _proc_cpu_s,
    build_world,
    plate_at,
    server_info,
)
from bench.common import (
    DEFAULT_PG_URL,
    Stats,
    Unavailable,
    cpu_model,
    dump_json,
    machine_info,
    postgres_facts,
    print_table,
    progress,
    safe_url,
    scratch_postgres,
    stats_of,
    usable_cores,
)
from bench.gate import GateLot, build_lots
from platebind.clock import SystemClock
from platebind.db import make_engine, make_session_factory, transaction
from platebind.plates import validate_national_id
from platebind.portal import accounts
from platebind.portal import service as portal
from platebind.registry.audit import Actor
from platebind.vehicles.service import import_extract

# The mix: each client's next operation is drawn with these weights (out of 100). Gate events
# dominate a clearing house's traffic (every car at every lot, twice); agents look plates up
# more often than they bind; members open the portal now and then; /healthz is the load
# balancer's probe, kept in the mix as a yardstick of queueing.
MIX: dict[str, int] = {
    "gate": 45,  # POST /v1/lots/{lot}/events: the client's lot's next entry or exit
    "lookup": 25,  # GET /v1/bindings?plate=…: an agent's look-up of a plate it holds
    "bind": 10,  # POST /v1/bindings with an Idempotency-Key: a new plate
    "portal": 8,  # GET /portal/bills: a member's landing page (plates and bills)
    "portal_parking": 7,  # GET /portal/bills/parking: every plate on the list, per scope
    "healthz": 5,  # GET /healthz
}
ROUTES = {
    "bare": "GET /healthz, alone",
    "gate_entry": "POST /v1/lots/{lot}/events (entry)",
    "gate_exit": "POST /v1/lots/{lot}/events (exit)",
    "lookup": "GET /v1/bindings?plate=…",
    "bind": "POST /v1/bindings + Idempotency-Key",
    "portal": "GET /portal/bills (member)",
    "portal_parking": "GET /portal/bills/parking (member)",
    "healthz": "GET /healthz, in the mix",
}
MIX_OPERATIONS = ("gate_entry", "gate_exit", "lookup", "bind", "portal", "portal_parking",
                  "healthz")  # fmt: skip

DEFAULT_SECONDS = 20.0
DEFAULT_WARMUP = 3.0
DEFAULT_CLIENTS = 16
DEFAULT_WORKERS = "1,2"
# With one keep-alive connection per client for a whole phase, the worker that happens to
# accept a connection serves it throughout, and the split at connect time (seen as 12:4)
# decides the 2-worker figure. New connections now and then spread the load as a proxy with
# many client connections would; 0 measures the pinned case.
DEFAULT_RECONNECT_EVERY = 50
PLATES_PER_LOT = 40  # half bound (bench.gate)
MEMBERS = 8
PLATES_PER_MEMBER = 4
SEED = 20261126
HOST = "127.0.0.1"
# Generous: on a loaded 2-core machine two workers have taken over a minute to import and start.
SERVER_START_TIMEOUT_S = 180.0
# A fixed key: the run is the same every time; the database is a throw-away one.
ID_HASH_KEY = hashlib.sha256(b"platebind bench.load id hash key").hexdigest()
PASSWORD = "bench load password"
SESSION_COOKIE = "platebind_session"
ADMIN = Actor("admin", "bench")
_PROGRESS_EVERY = 64


# --- the world ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    agent_keys: dict[str, str]
    lots: list[GateLot]
    lookups: list[tuple[str, str]]  # (API key of the agent holding the plate, plate)
    members: list[str]  # e-mails; the password is PASSWORD
    bind_offset: int  # plate_at index of the first plate the binds use


def national_id(serial: int) -> str:
    """A valid citizen's ID ``A1nnnnnnnc`` (check digit computed)."""
    body = f"1{serial:07d}"
    # The letter A counts as 10: its tens digit weighs 1 and its units digit (0) 9.
    total = 1 + sum(int(d) * w for d, w in zip(body, (8, 7, 6, 5, 4, 3, 2, 1), strict=True))
    return validate_national_id(f"A{body}{(10 - total % 10) % 10}")


def build_load_world(url: str, lots: int) -> World:
    agent_keys = build_world(url)
    gate_lots = build_lots(url, lots, PLATES_PER_LOT)
    with psycopg.connect(url) as pg:
        rows = pg.execute(
            "SELECT agent_id, plate FROM bindings WHERE scope_id = 'instant' ORDER BY plate"
        ).fetchall()
    lookups = [(agent_keys[str(agent)], str(plate)) for agent, plate in rows]
    members = add_members(url, gate_lots)
    return World(agent_keys, gate_lots, lookups, members, lots * PLATES_PER_LOT + 1000)


def add_members(url: str, lots: list[GateLot]) -> list[str]:
    """``MEMBERS`` members, each the registered owner of four gate plates (two bound, two
    not) and listing them, as members who opened the portal before would."""
    engine = make_engine(url)
    clock = SystemClock()
    now = clock.now()
    owned: list[tuple[str, list[str]]] = []
    for m in range(MEMBERS):
        lot = lots[m % len(lots)]
        bound = sorted(lot.bound)[m // len(lots) * 2 :][:2]
        unbound = sorted(set(lot.plates) - lot.bound)[m // len(lots) * 2 :][:2]
        owned.append((national_id(1000 + m), [*bound, *unbound]))
    extract = "vehicle_type,plate,owner_id\n" + "".join(
        f"car,{plate},{owner}\n" for owner, plates in owned for plate in plates
    )
    emails = []
    try:
        with transaction(make_session_factory(engine)) as s:
            import_extract(s, clock, ADMIN, io.BytesIO(extract.encode()), ID_HASH_KEY)
            for m, (owner, plates) in enumerate(owned):
                email = f"member{m}@load.example"
                form = accounts.Registration(email, PASSWORD, owner)
                member = accounts.register(s, form, now, ID_HASH_KEY)
                for plate in plates:
                    portal.add_plate(s, member, portal.identify("car", plate), now)
                emails.append(email)
    finally:
        engine.dispose()
    return emails


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def log_in(base_url: str, email: str) -> str:
    """Log in through the form (CSRF token from the page), as a browser; the session cookie."""
    with httpx.Client(base_url=base_url, timeout=30.0) as browser:
        page = browser.get("/portal/login")
        token = _CSRF.search(page.text)
        if page.status_code != 200 or token is None:
            raise RuntimeError(f"log-in page: HTTP {page.status_code}")
        data = {"csrf_token": token.group(1), "email": email, "password": PASSWORD}
        answer = browser.post("/portal/login", data=data)
        cookie = browser.cookies.get(SESSION_COOKIE)
        if answer.status_code != 303 or cookie is None:
            raise RuntimeError(f"log-in of {email}: HTTP {answer.status_code}")
        return cookie


# --- the server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    pid: int
    port: int
    workers: int
    command: str
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def serve_command(url: str, workers: int, port: int) -> list[str]:
    script = Path(sys.executable).with_name("platebind")
    program = [str(script)] if script.exists() else [
        sys.executable, "-c", "from platebind.cli import main; main()"]  # fmt: skip
    return [*program, "serve", "--workers", str(workers), "--no-worker",
            "--database-url", url, "--host", HOST, "--port", str(port)]  # fmt: skip


_STARTED = re.compile(r"Application startup complete")


@contextmanager
def running_serve(url: str, workers: int, log_dir: Path) -> Iterator[Server]:
    """``platebind serve`` on a free loopback port until every worker has started; SIGTERM
    (a graceful stop) on exit. A port taken by another process meanwhile: another port."""
    env = dict(os.environ)
    env.update(PLATEBIND_ID_HASH_KEY=ID_HASH_KEY, PLATEBIND_PORTAL_SECURE_COOKIES="false")
    for attempt in range(3):
        port = _free_port()
        log = log_dir / f"serve-{workers}-{port}.log"
        command = serve_command(url, workers, port)
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            if _wait_started(process, log, workers):
                shown = " ".join(command).replace(url, safe_url(url))
                yield Server(process.pid, port, workers, shown, log)
                return
            if attempt == 2 or "address already in use" not in _log_tail(log).lower():
                raise RuntimeError(f"the server did not start:\n{_log_tail(log)}")
        finally:
            _stop(process)


def _wait_started(process: subprocess.Popen[bytes], log: Path, workers: int) -> bool:
    """Whether every worker said it started (uvicorn's log) before the process ended."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while len(_STARTED.findall(_log_text(log))) < workers:
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _log_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``): the serve process and its workers."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree.extend(children)
        frontier = children
    return tree


class CpuMeter:
    """CPU seconds used from now to :meth:`read`: each server process, PostgreSQL, us."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.pids = process_tree(server_pid)
        self.database = database
        self.server = {pid: _proc_cpu_s(pid) or 0.0 for pid in self.pids}
        self.postgres = _postgres_cpu(database)
        self.client = time.process_time()

    def read(self) -> dict[str, Any]:
        client = time.process_time() - self.client
        server = {pid: (_proc_cpu_s(pid) or 0.0) - before for pid, before in self.server.items()}
        after = _postgres_cpu(self.database)
        postgres = sum(cpu - self.postgres.get(pid, 0.0) for pid, cpu in after.items())
        return {"server_by_pid": server, "server": sum(server.values()),
                "postgres": postgres, "client": client}  # fmt: skip


# --- the clients --------------------------------------------------------------------------------


@dataclass
class Tally:
    """One phase's answers per operation (one event loop, so no locks)."""

    latencies: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    first_errors: dict[str, str] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)  # e.g. gate actions
    count: int = 0

    def note(self, op: str, elapsed_ns: int, error: str | None, answer: str | None) -> None:
        self.count += 1
        self.latencies.setdefault(op, []).append(elapsed_ns)
        if answer is not None:
            self.answers[answer] = self.answers.get(answer, 0) + 1
        if error is not None:
            self.errors[op] = self.errors.get(op, 0) + 1
            self.first_errors.setdefault(op, error[:300])


Check = Callable[[int, bytes], tuple[str | None, str | None]]  # (error, answer) of an answer


def _raw(method: str, target: str, headers: Sequence[str], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}", *headers]
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _status(expected: int) -> Check:
    def check(status: int, body: bytes) -> tuple[str | None, str | None]:
        if status != expected:
            return f"HTTP {status}: {body[:200].decode(errors='replace')}", None
        return None, None

    return check


def _gate_check(gate: str, card_free: bool) -> Check:
    expected = ("open" if card_free else "ticket") if gate == "entry" else (
        "open" if card_free else "pay")  # fmt: skip

    def check(status: int, body: bytes) -> tuple[str | None, str | None]:
        if status != 200:
            return f"HTTP {status}: {body[:200].decode(errors='replace')}", None
        action = str(orjson.loads(body).get("action"))
        answer = f"{gate}:{action}"
        return (None if action == expected else f"{answer}, not {expected}"), answer

    return check


def _lookup_check(plate: str) -> Check:
    needle = f'"plate":"{plate}"'.encode()

    def check(status: int, body: bytes) -> tuple[str | None, str | None]:
        if status != 200 or needle not in body:
            return f"HTTP {status}, plate {plate} not found: {body[:200]!r}", None
        return None, None

    return check


class Traffic:
    """What the clients send: each client's next request, drawn from ``MIX``; the state that
    outlives a phase (each lot's next event, the binds' plate counter)."""

    def __init__(self, world: World, clients: int, cookies: list[str]) -> None:
        self.world = world
        self.cookies = cookies
        self.keys = list(world.agent_keys.values())
        self.rngs = [random.Random(SEED + c) for c in range(clients)]
        self.ops, self.weights = list(MIX), list(MIX.values())
        self.lot_step = {lot.id: 0 for lot in world.lots}  # even: entry of a pair, odd: exit
        self.binds = 0

    def next(self, client: int, only: str | None = None) -> tuple[str, bytes, Check]:
        rng = self.rngs[client]
        op = only or rng.choices(self.ops, self.weights)[0]
        if op == "gate":
            return self._gate(self.world.lots[client % len(self.world.lots)])
        if op == "lookup":
            key, plate = rng.choice(self.world.lookups)
            target = f"/v1/bindings?plate={plate}"
            return op, _raw("GET", target, [f"Authorization: Bearer {key}"]), _lookup_check(plate)
        if op == "bind":
            n, self.binds = self.binds, self.binds + 1
            body = orjson.dumps({"scope": "tpe-lots", "vehicle_type": "car",
                                 "plate": plate_at(self.world.bind_offset + n)})  # fmt: skip
            headers = [f"Authorization: Bearer {self.keys[n % len(self.keys)]}",
                       f"Idempotency-Key: load-bind-{n}"]  # fmt: skip
            return op, _raw("POST", "/v1/bindings", headers, body), _status(201)
        if op in ("portal", "portal_parking"):
            cookie = f"Cookie: {SESSION_COOKIE}={self.cookies[client % len(self.cookies)]}"
            target = "/portal/bills" if op == "portal" else "/portal/bills/parking"
            return op, _raw("GET", target, [cookie]), _status(200)
        return "healthz", _raw("GET", "/healthz", []), _status(200)

    def _gate(self, lot: GateLot) -> tuple[str, bytes, Check]:
        step = self.lot_step[lot.id]
        self.lot_step[lot.id] = step + 1
        gate = "entry" if step % 2 == 0 else "exit"
        plate = lot.plates[(step // 2) % len(lot.plates)]
        body = orjson.dumps({"event_id": f"{lot.id}-{step}", "gate": gate, "plate": plate,
                             "vehicle_type": "car", "at": datetime.now(UTC).isoformat(),
                             "confidence": 0.97})  # fmt: skip
        raw = _raw("POST", f"/v1/lots/{lot.id}/events", [f"Authorization: Bearer {lot.key}"], body)
        return f"gate_{gate}", raw, _gate_check(gate, plate in lot.bound)


async def _client_loop(
    client: int,
    connection: _Client,
    traffic: Traffic,
    only: str | None,
    deadline: float,
    tally: Tally,
    bar: tqdm[Any],
    reconnect_every: int,
) -> None:
    clock = time.perf_counter_ns
    sent = 0
    while time.perf_counter() < deadline:
        if reconnect_every and sent and sent % reconnect_every == 0:
            # The next exchange connects anew: the workers' event loops compete for it.
            connection.close()
        sent += 1
        op, raw, check = traffic.next(client, only)
        started = clock()
        try:
            status, body = await connection.exchange(raw)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            connection.close()
            status, body = 0, f"transport error {type(e).__name__}: {e}".encode()
        elapsed = clock() - started
        error, answer = check(status, body)
        tally.note(op, elapsed, error, answer)
        if tally.count % _PROGRESS_EVERY == 0:
            bar.update(_PROGRESS_EVERY)


async def _drive(
    server: Server,
    traffic: Traffic,
    args: argparse.Namespace,
    only: str | None,
    seconds: float,
    bar: Any,
) -> tuple[Tally, int, dict[int, float]]:
    """The phase; also which worker holds how many of the clients' connections (counted once
    they are all open), since a worker's share of the connections is its share of the load."""
    clients = args.clients
    connections = [_Client(HOST, server.port) for _ in range(clients)]
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def count_connections() -> dict[int, float]:
        """Sampled twice a second (connections come and go with ``--reconnect-every``)."""
        pids, samples = worker_pids(server), []
        await asyncio.sleep(min(0.5, seconds / 4))
        while time.perf_counter() < deadline:
            samples.append(connections_by_worker(pids, server.port))
            await asyncio.sleep(0.5)
        return {pid: sum(c.get(pid, 0) for c in samples) / max(1, len(samples)) for pid in pids}

    started = time.perf_counter_ns()
    try:
        counting = asyncio.create_task(count_connections())
        await asyncio.gather(
            *(_client_loop(c, connections[c], traffic, only, deadline, tally, bar,
                           args.reconnect_every) for c in range(clients))
        )  # fmt: skip
        by_worker = await counting
    finally:
        for connection in connections:
            connection.close()
    return tally, time.perf_counter_ns() - started, by_worker


def worker_pids(server: Server) -> list[int]:
    """The uvicorn workers' pids (the serve process itself when it has one worker)."""
    if server.workers == 1:
        return [server.pid]
    started = re.findall(r"Started server process \[(\d+)\]", _log_text(server.log))
    return [int(pid) for pid in started]


def connections_by_worker(pids: Sequence[int], port: int) -> dict[int, int]:
    """Established TCP connections on the server's ``port`` that each process holds (Linux:
    the socket inodes of ``/proc/net/tcp`` matched against each process's descriptors)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "ADDR:PORT" in hex, state 01 = ESTABLISHED, inode in column 10
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    counts: dict[int, int] = {}
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        counts[pid] = sum(1 for link in links if link.removeprefix("socket:[")[:-1] in inodes)
    return counts


def _run(coroutine: Any) -> Any:
    """On uvloop when installed, as the server's loop is (``bench.api`` does the same)."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None
    try:
        loop_factory = importlib.import_module("uvloop").new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coroutine)


# --- phases -------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    """One timed phase against one server: figures per operation and for all of them."""

    name: str
    wall_s: float
    stats: dict[str, Stats]
    total: Stats
    errors: dict[str, int]
    first_errors: dict[str, str]
    answers: dict[str, int]
    cpu: dict[str, Any]
    worker_pids: list[int]
    connections: dict[int, float]  # the clients' connections each worker held, on average
    load_average: list[float]

    def share(self, cpu_s: float) -> float:
        """CPU seconds per wall second (1.0 = one core busy)."""
        return cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def _role(self, pid: int) -> str:
        """The serve process (the first), a uvicorn worker, or another child (e.g. the
        multiprocessing resource tracker)."""
        if pid in self.worker_pids:
            return "worker"
        return "serve" if pid == next(iter(self.cpu["server_by_pid"])) else "other"

    def as_dict(self) -> dict[str, Any]:
        cpu = self.cpu
        by_pid = cpu["server_by_pid"]
        return {
            "wall_s": round(self.wall_s, 3),
            "operations": {op: _op_dict(s) for op, s in self.stats.items()},
            "total": _op_dict(self.total),
            "errors": self.errors,
            "first_errors": self.first_errors,
            "answers": dict(sorted(self.answers.items())),
            "cpu_share": {
                "server": round(self.share(cpu["server"]), 3),
                "server_by_process": {
                    f"{self._role(pid)} {pid}": round(self.share(s), 3) for pid, s in by_pid.items()
                },
                "postgres": round(self.share(cpu["postgres"]), 3),
                "load_generator": round(self.share(cpu["client"]), 3),
            },
            "connections_by_worker": {str(pid): round(n, 1) for pid, n in self.connections.items()},
            "server_cpu_us_per_request": round(cpu["server"] / self.total.n * 1e6, 1),
            "postgres_cpu_us_per_request": round(cpu["postgres"] / self.total.n * 1e6, 1),
            "load_generator_cpu_us_per_request": round(cpu["client"] / self.total.n * 1e6, 1),
            "load_average": self.load_average,
        }


def _op_dict(s: Stats) -> dict[str, Any]:
    return {"count": s.n, "requests_per_s": round(s.ops_per_s, 1),
            "p50_ms": round(s.p50_us / 1000, 3), "p99_ms": round(s.p99_us / 1000, 3)}  # fmt: skip


def run_phase(
    server: Server,
    database: str,
    traffic: Traffic,
    args: argparse.Namespace,
    name: str,
    seconds: float,
    only: str | None = None,
) -> PhaseResult:
    meter = CpuMeter(server.pid, database)
    label = f"{server.workers} worker{'s' if server.workers > 1 else ''}: {name}"
    with progress(None, label, enabled=not args.json) as bar:
        tally, elapsed_ns, by_worker = _run(_drive(server, traffic, args, only, seconds, bar))
    cpu = meter.read()
    everything = [ns for latencies in tally.latencies.values() for ns in latencies]
    if not everything:
        raise RuntimeError(f"{label}: no answer at all")
    stats = {
        op: stats_of(tally.latencies[op], elapsed_ns)
        for op in sorted(tally.latencies, key=MIX_OPERATIONS.index)
    }
    return PhaseResult(
        name=name,
        wall_s=elapsed_ns / 1e9,
        stats=stats,
        total=stats_of(everything, elapsed_ns),
        errors=tally.errors,
        first_errors=tally.first_errors,
        answers=tally.answers,
        cpu=cpu,
        worker_pids=worker_pids(server),
        connections=by_worker,
        load_average=[round(x, 2) for x in os.getloadavg()],
    )


@dataclass
class WorkersResult:
    workers: int
    command: str
    warmup: PhaseResult
    bare: PhaseResult
    mix: PhaseResult
    solo: list[PhaseResult]  # each operation alone (``--solo``), to see what each costs

    @property
    def errors(self) -> int:
        phases = (self.warmup, self.bare, self.mix, *self.solo)
        return sum(sum(p.errors.values()) for p in phases)

    def ratios(self) -> dict[str, dict[str, float]]:
        """Each mix operation's req/s, p50 and p99 over the bare phase's."""
        base = self.bare.total
        rows = {**self.mix.stats, "mix total": self.mix.total}
        return {
            op: {
                "requests_per_s": s.ops_per_s / base.ops_per_s,
                "p50": s.p50_us / base.p50_us,
                "p99": s.p99_us / base.p99_us,
            }  # fmt: skip
            for op, s in rows.items()
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "warmup_errors": self.warmup.errors,
            "bare": self.bare.as_dict(),
            "mix": self.mix.as_dict(),
            "alone": {p.name.removesuffix(" alone"): p.as_dict() for p in self.solo},
            "ratios_to_bare": {
                op: {k: round(v, 4) for k, v in r.items()} for op, r in self.ratios().items()
            },
            "errors": self.errors,
        }


def run_workers(
    url: str, world: World, traffic: Traffic, workers: int, args: argparse.Namespace
) -> WorkersResult:
    database = str(make_url(url).database)
    with (
        tempfile.TemporaryDirectory(prefix="platebind_bench_load_") as log_dir,
        running_serve(url, workers, Path(log_dir)) as server,
    ):
        if not traffic.cookies:
            # Once per member for the whole run: sessions live in the database, and log-ins
            # are rate-limited per address (30 in 15 minutes).
            traffic.cookies = [log_in(server.base_url, email) for email in world.members]
        warmup = run_phase(server, database, traffic, args, "warm-up", args.warmup)
        bare = run_phase(server, database, traffic, args, "bare", args.seconds, only="healthz")
        mix = run_phase(server, database, traffic, args, "mix", args.seconds)
        solo = [
            run_phase(server, database, traffic, args, f"{op} alone", args.solo, only=op)
            for op in MIX
            if op != "healthz" and args.solo > 0 and workers == args.worker_counts[0]
        ]
        if args.keep_logs:
            kept = Path(args.keep_logs) / server.log.name
            kept.write_bytes(server.log.read_bytes())
    return WorkersResult(workers, server.command, warmup, bare, mix, solo)


# --- report -------------------------------------------------------------------------------------


def scaling(results: list[WorkersResult]) -> dict[str, float] | None:
    """Requests/s with the most workers over the fewest (the mix's and the bare phase's)."""
    if len(results) < 2:
        return None
    low, high = min(results, key=lambda r: r.workers), max(results, key=lambda r: r.workers)
    return {
        "from_workers": low.workers,
        "to_workers": high.workers,
        "mix": high.mix.total.ops_per_s / low.mix.total.ops_per_s,
        "bare": high.bare.total.ops_per_s / low.bare.total.ops_per_s,
    }


def _ms(us: float) -> float:
    return us / 1000


def print_workers(r: WorkersResult) -> None:
    headers = ["operation", "count", "req/s", "×bare", "p50 ms", "×bare", "p99 ms", "×bare",
               "errors"]  # fmt: skip
    base = r.bare.total
    rows: list[Sequence[object]] = [
        ["bare", base.n, base.ops_per_s, 1.0, _ms(base.p50_us), 1.0, _ms(base.p99_us), 1.0,
         sum(r.bare.errors.values())],
    ]  # fmt: skip
    ratios = r.ratios()
    for op, s in [*r.mix.stats.items(), ("mix total", r.mix.total)]:
        q = ratios[op]
        errors = sum(r.mix.errors.values()) if op == "mix total" else r.mix.errors.get(op, 0)
        rows.append([op, s.n, s.ops_per_s, q["requests_per_s"], _ms(s.p50_us), q["p50"],
                     _ms(s.p99_us), q["p99"], errors])  # fmt: skip
    title = f"{r.workers} worker{'s' if r.workers > 1 else ''}: {r.command}"
    print_table(headers, rows, title=title)
    for phase in (r.bare, r.mix):
        d = phase.as_dict()
        shares = d["cpu_share"]
        processes = ", ".join(f"{k} {v:.0%}" for k, v in shares["server_by_process"].items())
        held = ", ".join(f"worker {pid} {n:.1f}" for pid, n in phase.connections.items())
        print(
            f"  {phase.name}: connections held (mean): {held}; CPU server {shares['server']:.0%} "
            f"({processes}), PostgreSQL "
            f"{shares['postgres']:.0%}, load generator {shares['load_generator']:.0%}; per "
            f"request: server {d['server_cpu_us_per_request']:,.0f} µs, PostgreSQL "
            f"{d['postgres_cpu_us_per_request']:,.0f} µs, load generator "
            f"{d['load_generator_cpu_us_per_request']:,.0f} µs; load average "
            f"{phase.load_average}"
        )
    print(f"  gate answers: {dict(sorted(r.mix.answers.items()))}")
    if r.solo:
        print_solo(r)
    for phase in (r.warmup, r.bare, r.mix, *r.solo):
        for op, count in phase.errors.items():
            print(f"  {phase.name} {op}: {count} errors; first: {phase.first_errors[op]}")


def print_solo(r: WorkersResult) -> None:
    """Each operation alone: its own throughput and the CPU one request costs."""
    base = r.bare.total
    headers = ["alone", "req/s", "×bare", "p50 ms", "×bare", "p99 ms", "×bare",
               "srv µs/req", "pg µs/req", "srv CPU%", "pg CPU%"]  # fmt: skip
    rows: list[Sequence[object]] = []
    for phase in r.solo:
        s, d = phase.total, phase.as_dict()
        rows.append([phase.name.removesuffix(" alone"), s.ops_per_s, s.ops_per_s / base.ops_per_s,
                     _ms(s.p50_us), s.p50_us / base.p50_us, _ms(s.p99_us),
                     s.p99_us / base.p99_us, d["server_cpu_us_per_request"],
                     d["postgres_cpu_us_per_request"], round(d["cpu_share"]["server"] * 100),
                     round(d["cpu_share"]["postgres"] * 100)])  # fmt: skip
    print()
    print_table(headers, rows, title=f"  each operation alone, {r.workers} worker(s)")


def print_report(
    results: list[WorkersResult], info: dict[str, Any], settings: dict[str, Any]
) -> None:
    print(
        f"platebind load benchmark — os.cpu_count() {info['cores']} · nproc "
        f"{info['usable_cores']} · {info['cpu_model']} · Python {info['python']} · "
        f"PostgreSQL {info['postgresql']} ({info['postgresql_settings']})"
    )
    print(
        f"uvicorn {info['uvicorn']} ({info['uvicorn_loop']}, {info['uvicorn_http']}); load: "
        f"{settings['clients']} closed-loop keep-alive clients in one {info['client_loop']} "
        f"process; {settings['warmup']:g} s warm-up, then {settings['seconds']:g} s bare and "
        f"{settings['seconds']:g} s mix per worker count; load average "
        f"{info['load_average']} at the start, {info['load_average_end']} at the end"
    )
    mix = ", ".join(f"{op} {weight}" for op, weight in MIX.items())
    print(f"mix (weights): {mix}; world: {settings['world']}")
    for r in results:
        print()
        print_workers(r)
    s = scaling(results)
    if s is not None:
        print(
            f"\nscaling {s['from_workers']} → {s['to_workers']} workers: mix req/s × "
            f"{s['mix']:.2f}, bare req/s × {s['bare']:.2f}"
        )
    print()
    for op, route in ROUTES.items():
        print(f"{op:<15} {route}")
    print(
        "×bare: the figure over the bare phase's (GET /healthz alone, same server, same "
        "clients, same run).\nCPU: 100 % = one core; server = the serve process and its "
        "workers; PostgreSQL = the backends of the\nscratch database and the shared "
        "processes; load generator = this process."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                        help="timed seconds of each phase (default %(default)g)")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=DEFAULT_WARMUP,
                        help="untimed seconds of the mix first (default %(default)g)")  # fmt: skip
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS,
                        help="concurrent clients, one lot each (default %(default)s)")  # fmt: skip
    parser.add_argument("--workers", default=DEFAULT_WORKERS,
                        help="comma-separated worker counts (default %(default)s)")  # fmt: skip
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help="PostgreSQL server URL; a scratch database is created and dropped there "
        "(default $PLATEBIND_BENCH_PG_URL or %(default)s)",
    )
    parser.add_argument(
        "--reconnect-every",
        type=int,
        default=DEFAULT_RECONNECT_EVERY,
        metavar="N",
        help="each client opens a new connection after N requests; 0: one connection per "
        "client per phase (default %(default)s)",
    )
    parser.add_argument("--solo", type=float, default=0.0, metavar="SECONDS",
                        help="also run each operation alone for SECONDS with the first "
                        "worker count, to see what each costs (default off)")  # fmt: skip
    parser.add_argument("--keep-logs", metavar="DIR",
                        help="copy the servers' logs into DIR")  # fmt: skip
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document with all figures, nothing else"
    )
    args = parser.parse_args(argv)
    try:
        args.worker_counts = sorted({int(w) for w in args.workers.split(",") if w.strip()})
    except ValueError:
        parser.error("--workers takes comma-separated numbers, e.g. 1,2")
    if not args.worker_counts or min(args.worker_counts) < 1:
        parser.error("--workers must name at least one count, each at least 1")
    if args.seconds <= 0 or args.warmup < 0 or args.solo < 0:
        parser.error("--seconds must be positive; --warmup and --solo not negative")
    if args.reconnect_every < 0:
        parser.error("--reconnect-every must not be negative")
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    info: dict[str, Any] = {**machine_info(), **server_info()}
    info.update(usable_cores=usable_cores(), cpu_model=cpu_model())
    results: list[WorkersResult] = []
    try:
        with scratch_postgres(args.pg_url) as url:
            with psycopg.connect(url, autocommit=True) as pg:
                info["postgresql"], facts = postgres_facts(pg)
            info["postgresql_settings"] = ", ".join(f"{k}={v}" for k, v in facts.items())
            world = build_load_world(url, args.clients)
            traffic = Traffic(world, args.clients, [])
            for workers in args.worker_counts:
                results.append(run_workers(url, world, traffic, workers, args))
    except Unavailable as exc:
        print(f"not measured: {exc}", file=sys.stderr)
        return 1
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    settings = {
        "seconds": args.seconds, "warmup": args.warmup, "clients": args.clients,
        "workers": args.worker_counts, "solo": args.solo,
        "reconnect_every": args.reconnect_every, "mix": MIX, "seed": SEED,
        "world": f"3 scopes, 6 agents, {len(world.lots)} lots × {PLATES_PER_LOT} plates "
                 f"(half bound), {len(world.lookups)} bound plates to look up, "
                 f"{len(world.members)} portal members × {PLATES_PER_MEMBER} plates",
    }  # fmt: skip
    valid = all(r.errors == 0 for r in results)
    s = scaling(results)
    if args.json:
        dump_json({
            "benchmark": "load", "machine": info, "settings": settings, "routes": ROUTES,
            "workers": {str(r.workers): r.as_dict() for r in results},
            "scaling": None if s is None else {k: round(v, 3) for k, v in s.items()},
            "valid": valid, "run_seconds": round(time.perf_counter() - started, 1),
        })  # fmt: skip
    else:
        print_report(results, info, settings)
        if not valid:
            print("\nINVALID RUN: unexpected answers (see above)")
        print(f"\nrun time {time.perf_counter() - started:.1f} s")
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
