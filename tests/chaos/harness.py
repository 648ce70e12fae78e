"""The crash harness: ``platebind serve`` under steady load, killed with SIGKILL at random
(seeded) moments, restarted, and every invariant checked afterwards.

A run: a fresh database and world (``tests.chaos.world``); the server as a real subprocess;
client threads as agents and gates (``tests.chaos.load``) running across every kill; then one
kill per scheduled scenario:

- ``steady``: the server, at a random moment of its load;
- ``cycle``: ``platebind cycle run`` (its own process) and the server, while the cycle works;
- ``webhook``: the server while its dispatcher waits on a slow receiver (deliveries in flight);
- ``export``: ``platebind statements export`` and the server while a statement file is being
  written; afterwards no file may be under its final name unless complete, and a re-run
  writes every file complete and correct.

After the last restart the clients stop (each gets its answer first), every answered request
is sent again with its key (the first answer must come back), the cycle runs to the end, the
webhooks drain, and the checks (``tests.chaos.checks``) read the database.
"""

from __future__ import annotations

import random
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from platebind.billing import statements
from platebind.clock import FixedClock
from platebind.db import make_engine, make_session_factory, transaction
from platebind.simulation.run import bound_plates, choose_lots
from platebind.simulation.traffic import PlatePool, Read, Shares, plan_traffic, unbound_plate
from platebind.webhooks.dispatcher import DeliveryPolicy
from platebind.webhooks.models import OutboxEvent
from platebind.webhooks.worker import dispatcher_for
from tests.chaos import checks
from tests.chaos.load import Client, Load, Pace, Tally, agent_loop, gate_loop
from tests.chaos.processes import CliRun, Server
from tests.chaos.receiver import Receiver
from tests.chaos.report import SCENARIOS, DatabaseReport
from tests.chaos.world import AGENTS, LOTS_SCOPE, World, WorldSize, build, fresh_database
from tests.conftest import PG_ADMIN_URL

DRAIN_TIMEOUT = 120.0


@dataclass(frozen=True)
class ChaosConfig:
    database: str  # sqlite | postgresql
    kills: int
    seed: int = 1
    size: WorldSize = WorldSize(prebound=300, export_lines=6000)
    pace: Pace = Pace()
    uptime: tuple[float, float] = (0.3, 1.2)  # seconds of load before a scenario begins
    replays: int | None = None  # answered requests sent again at the end (None: all)
    admin_url: str = PG_ADMIN_URL
    keep_workdir: bool = False


def schedule(kills: int, rng: random.Random) -> list[str]:
    """Scenarios in shuffled rounds of all four, so even a few kills cover each."""
    order: list[str] = []
    while len(order) < kills:
        round_ = list(SCENARIOS)
        rng.shuffle(round_)
        order += round_
    return order[:kills]


@dataclass
class Run:
    config: ChaosConfig
    world: World
    server: Server
    receiver: Receiver
    workdir: Path
    rng: random.Random
    report: DatabaseReport
    tally: Tally = field(default_factory=Tally)
    cycle_window: float = 0.6  # seconds after the imports within which a cycle kill lands
    reference: dict[str, bytes] = field(default_factory=dict)
    export_problems: list[str] = field(default_factory=list)
    cycle_problems: list[str] = field(default_factory=list)

    @property
    def export_dir(self) -> Path:
        return self.workdir / "statements"

    def cli(self, name: str, *args: str) -> CliRun:
        return CliRun.start(
            [*args, "--database-url", self.world.url, "--json"],
            self.workdir,
            name,
            self.server.id_hash_key,
        )

    # -- the scenarios: each ends with the server killed and started again -------------------

    def kill_server(self, scenario: str, landed: bool) -> None:
        self.server.kill()
        self.report.kills[scenario] += 1
        self.report.landed[scenario] += landed
        self.server.start()

    def steady(self) -> None:
        self.kill_server("steady", True)

    def cycle(self) -> None:
        run = self.cli("cycle", "cycle", "run")
        landed = False
        if run.wait_imported() is not None:
            delay = self.rng.uniform(0.0, self.cycle_window)
            time.sleep(delay)
            landed = run.kill()
            if not landed:  # it was quicker than that: aim earlier next time
                self.cycle_window = max(0.05, delay * 0.8)
                if run.process.returncode != 0:
                    self.cycle_problems.append(f"cycle run failed: {run.output()[-300:]}")
        else:
            run.kill()
        self.kill_server("cycle", landed)

    def webhook(self) -> None:
        self.receiver.slow(self.rng.uniform(0.3, 0.8))
        deadline = time.monotonic() + 5.0
        while self.receiver.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(self.rng.uniform(0.0, 0.1))
        landed = self.receiver.in_flight > 0
        self.receiver.fast()  # for what comes next; the answers in flight keep their pace
        self.kill_server("webhook", landed)

    def export(self) -> None:
        before = self._temporaries()
        run = self.cli("export", "statements", "export", self._day(), "--dir", str(self.export_dir))
        if run.wait_imported() is not None:
            deadline = time.monotonic() + 10.0
            while not self._temporaries() - before and run.running:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.001)
            time.sleep(self.rng.uniform(0.0, 0.004))
        alive = run.kill()
        landed = alive and bool(self._temporaries() - before)
        self.kill_server("export", landed)
        self._check_export(after_kill=True)
        rerun = self.cli(
            "export-rerun", "statements", "export", self._day(), "--dir", str(self.export_dir)
        )
        if rerun.finish() != 0:
            self.export_problems.append(f"export re-run failed: {rerun.output()[-300:]}")
        self._check_export(after_kill=False)

    # -- statements export ------------------------------------------------------------------

    def _day(self) -> str:
        return self.world.export_day.isoformat()

    def _temporaries(self) -> set[str]:
        if not self.export_dir.exists():
            return set()
        return {p.name for p in self.export_dir.iterdir() if p.name.startswith(".")}

    def _check_export(self, *, after_kill: bool) -> None:
        """After a kill, every file under a final name is complete; after a re-run, all are."""
        for name, expected in self.reference.items():
            path = self.export_dir / name
            if not path.exists():
                if not after_kill:
                    self.export_problems.append(f"{name} missing after a finished export")
                continue
            if path.read_bytes() != expected:
                when = "after a kill" if after_kill else "after a finished export"
                self.export_problems.append(f"{name} under its final name is wrong {when}")

    # -- the end ----------------------------------------------------------------------------

    def replay_answers(self) -> list[str]:
        """Send answered keyed requests and gate events again: the first answer must return."""
        candidates = [a for a in self.tally.answers if a.key is not None or a.kind == "gate"]
        candidates = [a for a in candidates if a.status != 429]
        limit = self.config.replays
        if limit is not None and len(candidates) > limit:
            candidates = self.rng.sample(candidates, limit)
        tokens = {**self.world.agent_keys, **self.world.lot_keys}
        client = Client(lambda: self.server.base_url, Tally())
        problems = []
        try:
            for a in candidates:
                again = client.send(
                    a.kind, a.caller, tokens[a.caller], a.method, a.path, a.request, a.key
                )
                problem = checks.replay_differs(a, again)
                if problem is not None:
                    problems.append(problem)
        finally:
            client.close()
        self.report.requests["replays_checked"] = len(candidates)
        return problems

    def finish_cycle(self) -> None:
        run = self.cli("cycle-final", "cycle", "run")
        if run.finish() != 0:
            self.cycle_problems.append(f"final cycle run failed: {run.output()[-300:]}")

    def drain(self) -> None:
        """Let the server's dispatcher deliver everything due; then deliver what killed
        dispatchers had claimed, as a dispatcher does once their leases run out (on a clock
        moved past the lease and the longest back-off: nobody waits ten minutes here)."""
        engine = make_engine(self.world.url)
        factory = make_session_factory(engine)
        try:
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while time.monotonic() < deadline:
                with transaction(factory) as s:
                    due = s.scalar(
                        select(func.count()).where(
                            OutboxEvent.status == "pending",
                            OutboxEvent.next_attempt_at <= datetime.now(UTC),
                        )
                    )
                if not due and self.receiver.in_flight == 0:
                    break
                time.sleep(0.1)
            policy = DeliveryPolicy()
            later = datetime.now(UTC) + policy.lease + policy.backoff_cap + timedelta(minutes=1)
            recovered = 0
            with dispatcher_for(engine, policy) as dispatcher:
                dispatcher.clock = FixedClock(later)
                while attempted := dispatcher.run_once():
                    recovered += attempted
            with transaction(factory) as s:
                events = s.scalar(select(func.count()).select_from(OutboxEvent)) or 0
        finally:
            engine.dispose()
        delivered = self.receiver.delivered()
        self.report.webhooks = {
            "outbox_events": events,
            "deliveries_received": sum(delivered.values()),
            "delivered_more_than_once": sum(1 for n in delivered.values() if n > 1),
            "recovered_after_lease": recovered,
            "bodies_cut_short_by_kills": self.receiver.cut_short,
        }

    def check(self, replay_problems: list[str]) -> None:
        engine = make_engine(self.world.url)
        try:
            with transaction(make_session_factory(engine)) as s:
                for name, check in checks.database_checks(
                    self.tally.answers, self.receiver.delivered()
                ).items():
                    self.report.add(name, check(s))
        finally:
            engine.dispose()
        self.report.add("replayed_answers_differ", replay_problems)
        self.report.add(
            "server_errors_5xx",
            [f"{p} -> {c}: {b[:200]!r}" for p, c, b in self.tally.server_errors],
        )
        self.report.add("requests_unanswered", [f"{m} {p}" for m, p in self.tally.unanswered])
        self.report.add("webhook_signatures_bad", ["bad signature"] * self.receiver.bad_signatures)
        self.report.add("cycle_runs_failed", self.cycle_problems)
        self.report.add("export_files_incomplete", self.export_problems)


def _reference_export(world: World, workdir: Path) -> dict[str, bytes]:
    """The day's statement files as an undisturbed export writes them (the day is final)."""
    target = workdir / "reference"
    engine = make_engine(world.url)
    try:
        with transaction(make_session_factory(engine)) as s:
            statements.export_day(s, datetime.now(UTC), world.export_day, target)
    finally:
        engine.dispose()
    return {p.name: p.read_bytes() for p in sorted(target.iterdir())}


def _traffic(world: World, rng: random.Random, reads_per_lot: int) -> dict[str, list[Read]]:
    """The simulator's camera reads of each lot over a past day and a half, when the plates
    bound at setup were active (sent as an offline lot's replay)."""
    start = world.built_at - timedelta(hours=46)
    hours = 44.0
    # Reads per lot ~ 2 x rate x hours x the profile's mean (~0.47).
    rate = max(1.0, reads_per_lot / (2 * hours * 0.45))
    engine = make_engine(world.url)
    try:
        with transaction(make_session_factory(engine)) as s:
            lots = choose_lots(s, LOTS_SCOPE, len(world.lot_keys), rng)
            pool = PlatePool(rng, bound_plates(s, LOTS_SCOPE, start), Shares())
    finally:
        engine.dispose()
    reads = plan_traffic(rng, lots, pool, start, hours, rate)
    return {lot.id: [r for r in reads if r.lot_id == lot.id] for lot in lots}


def _start_load(run: Run) -> Load:
    config, world, rng = run.config, run.world, run.rng
    load = Load()
    pool = [unbound_plate(rng) for _ in range(30)]
    held = [plate for bindings in world.prebound.values() for *_, plate in bindings]
    plates = [(scope, p) for p in pool for scope in ("instant", LOTS_SCOPE)]
    plates += [(LOTS_SCOPE, p) for p in rng.sample(held, min(30, len(held)))]
    for n, agent_id in enumerate(AGENTS):
        own = [binding_id for binding_id, *_ in world.prebound[agent_id]]
        load.add(
            Client(lambda: run.server.base_url, run.tally), agent_loop, config.pace.agent,
            agent_id, world.agent_keys[agent_id], own, plates, random.Random(config.seed * 100 + n),
        )  # fmt: skip
    expected_seconds = 20 + config.kills * 8
    traffic = _traffic(world, rng, int(expected_seconds / config.pace.gate))
    for lot_id, reads in traffic.items():
        load.add(
            Client(lambda: run.server.base_url, run.tally), gate_loop, config.pace.gate,
            lot_id, world.lot_keys[lot_id], reads, f"chaos{config.seed}",
        )  # fmt: skip
    load.start()
    return load


def run_chaos(
    config: ChaosConfig, on_kill: Callable[[str], object] = lambda _s: None
) -> DatabaseReport:
    """One run on ``config.database``; its report (see the module)."""
    rng = random.Random(config.seed)
    workdir = Path(tempfile.mkdtemp(prefix=f"platebind-chaos-{config.database}-"))
    report = DatabaseReport(config.database, config.seed)
    phase = _Phases(report)
    with ExitStack() as stack:
        if not config.keep_workdir:
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        receiver = stack.enter_context(Receiver())
        url = stack.enter_context(fresh_database(config.database, workdir, config.admin_url))
        world = build(url, receiver.url, config.size, rng)
        receiver.secrets = world.secrets
        server = Server(url, workdir, secrets.token_urlsafe(32))
        stack.callback(server.stop)
        run = Run(config, world, server, receiver, workdir, rng, report)
        run.reference = _reference_export(world, workdir)
        server.start()
        load = _start_load(run)
        stack.callback(load.stop.set)
        stack.callback(run.tally.aborted.set)
        phase("setup")
        for scenario in schedule(config.kills, rng):
            time.sleep(rng.uniform(*config.uptime))
            getattr(run, scenario)()
            on_kill(scenario)
        time.sleep(rng.uniform(*config.uptime))
        load.finish()
        phase("kills")
        replay_problems = run.replay_answers()
        phase("replays")
        run.finish_cycle()
        phase("final_cycle")
        run.drain()
        phase("drain")
        server.stop()
        _summarise(run)
        run.check(replay_problems)
        phase("checks")
    report.seconds = sum(report.phases_s.values())
    return report


class _Phases:
    """Seconds spent in each phase of a run, into the report."""

    def __init__(self, report: DatabaseReport) -> None:
        self.report, self.since = report, time.monotonic()

    def __call__(self, name: str) -> None:
        now = time.monotonic()
        self.report.phases_s[name] = round(now - self.since, 2)
        self.since = now


def _summarise(run: Run) -> None:
    report, server = run.report, run.server
    report.server_pids = list(server.pids)
    downtimes = server.downtimes or [0.0]
    report.downtime_s = {
        "mean": round(sum(downtimes) / len(downtimes), 2),
        "max": round(max(downtimes), 2),
    }
    report.requests = {**run.tally.counts(), **report.requests}
    report.export = {
        "reference_files": len(run.reference),
        "temporaries_left_by_kills": len(run._temporaries()),
    }
