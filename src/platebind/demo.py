"""The demo world: a believable month of Taipei card-free parking, built through the services.

``build_demo_world`` plans a month of driver and agent activity with ``random.Random(seed)``,
then replays it day by day on a :class:`FixedClock` that walks from about 30 days before ``now``
up to ``now``: binds, unbinds, cancellations, queued binds, transfers with a transfer code, an
agent suspended for a few days (its plates taken over without a code) and reactivated, and
the nightly cycle after every cut-over. Nothing is inserted behind the services' backs, so the
world obeys every rule the API does. The plan is pure data; only its replay touches the
database, one transaction per simulated day.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from platebind.clock import TAIPEI, BusinessCalendar, FixedClock, ensure_aware, taipei_iso
from platebind.db import make_engine, make_session_factory, normalise_url, transaction, upgrade
from platebind.errors import DomainError, InvalidInput
from platebind.plates import canonical_plate
from platebind.registry import agents, feed, scopes, service, transfers
from platebind.registry.agents import AgentProfile
from platebind.registry.audit import SYSTEM, Actor
from platebind.registry.models import Accreditation, AuditEntry, Binding, BindingChange
from platebind.registry.rules import (
    BindingStatus,
    CutoverPolicy,
    EndReason,
    binding_status,
    first_cutover_at_or_after,
)
from platebind.webhooks.models import OutboxEvent

DAYS = 30
PLATE_COUNT = 250
ROADSIDE_SHARE = 0.35  # plates also bound for roadside bills
SAME_AGENT_BOTH_SCOPES = 0.7  # most drivers use one app for both
DEMO_ADMIN = Actor("admin", "demo")
OWNER = Actor("citizen", "demo-owner")
SUSPENDED_AGENT = "easywallet"
CUTOVER, LEAD_HOURS = "04:00", 1.0
LOTS_POLICY = CutoverPolicy(
    cutover_minute=scopes.parse_cutover(CUTOVER), lead=timedelta(hours=LEAD_HOURS)
)


@dataclass(frozen=True)
class ScopeSpec:
    id: str
    name: str
    kind: str
    business_days_only: bool


SCOPES = (
    ScopeSpec("tpe-lots", "臺北市公有停車場", "lots", business_days_only=False),
    ScopeSpec("tpe-roadside", "臺北市路邊停車", "roadside", business_days_only=True),
)

# Demo data: names and web sites are the real providers'; phone numbers and page paths are
# placeholders, not their actual support lines.
AGENTS: tuple[tuple[str, str, AgentProfile], ...] = (
    ("cmj", "車麻吉", AgentProfile(
        name_en="CarMaji", support_phone="02-2700-1234", support_url="https://www.carmaji.com.tw/",
        unbind_instructions="開啟車麻吉 App →「我的」→「愛車管理」→ 選擇車牌 →「停車代繳」→"
        "「取消代繳」。取消後於下一個換日時點（每日 04:00）生效。",
        unbind_url="https://www.carmaji.com.tw/faq/parking-unbind",
    )),
    ("pi", "Pi 拍錢包", AgentProfile(
        name_en="Pi Wallet", support_phone="02-6600-1234", support_url="https://www.piapp.com.tw/",
        unbind_instructions="開啟 Pi 拍錢包 →「生活繳費」→「停車費自動代繳」→ 點選車牌 →"
        "「解除綁定」。",
        unbind_url="https://www.piapp.com.tw/faq/parking",
    )),
    ("jkopay", "街口支付", AgentProfile(
        name_en="JKOPAY", support_phone="02-6636-1234", support_url="https://www.jkopay.com/",
        unbind_instructions="開啟街口支付 →「繳費」→「停車費」→「自動代繳設定」→ 選擇車牌 →"
        "「解除代繳」。",
        unbind_url="https://www.jkopay.com/faq/parking",
    )),
    ("easywallet", "悠遊付", AgentProfile(
        name_en="Easy Wallet", support_phone="02-2658-1234",
        support_url="https://easywallet.easycard.com.tw/",
        unbind_instructions="開啟悠遊付 →「生活」→「停車費代扣」→ 選擇車牌 →「取消綁定」。",
        unbind_url="https://easywallet.easycard.com.tw/faq/parking",
    )),
)  # fmt: skip
AGENT_IDS = tuple(agent_id for agent_id, _, _ in AGENTS)
MARKET_SHARE = (0.3, 0.25, 0.3, 0.15)


class DatabaseNotEmpty(DomainError):
    code = "database_not_empty"
    title = "The database is not empty"
    status = 409


@dataclass(frozen=True)
class DemoSummary:
    """What the demo built, as of ``now``. ``agent_keys`` are the agents' first API keys (only
    their hashes are stored), so the demo API can be tried at once."""

    database_url: str
    now: datetime
    seed: int
    scopes: list[str]
    agents: list[str]
    plates: int
    bindings: dict[str, int]  # by status at ``now``; every status is present, maybe 0
    transfers: int
    changes: int
    outbox_events: int
    audit_entries: int
    agent_keys: dict[str, str] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database_url": self.database_url,
            "now": taipei_iso(self.now),
            "seed": self.seed,
            "scopes": self.scopes,
            "agents": self.agents,
            "plates": self.plates,
            "bindings": dict(self.bindings),
            "transfers": self.transfers,
            "changes": self.changes,
            "outbox_events": self.outbox_events,
            "audit_entries": self.audit_entries,
            "agent_keys": dict(self.agent_keys),
        }


def build_demo_world(database_url: str, *, now: datetime, seed: int = 7) -> DemoSummary:
    """Replace the database behind ``database_url`` with the demo world as of ``now``.

    A SQLite file is deleted and rebuilt; any other database must be empty
    (``database_not_empty`` otherwise). Same seed and ``now``, same world.
    """
    now = ensure_aware(now).replace(microsecond=0)
    _prepare_database(database_url)
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        timeline = Timeline.ending_at(now)
        clock = FixedClock(timeline.start)
        with transaction(factory) as session:
            keys = _set_up_registry(session, clock)
        steps = Planner(random.Random(seed), timeline).plan(_demo_plates(random.Random(seed)))
        _replay(factory, clock, steps)
        clock.set(now)
        with transaction(factory) as session:
            return _summarise(session, database_url, now, seed, keys)
    finally:
        engine.dispose()


# --- the database ---------------------------------------------------------------------------


def _prepare_database(database_url: str) -> None:
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InvalidInput("the demo needs a SQLite file, e.g. sqlite:///./platebind-demo.db")
        path = Path(url.database)
        for stale in (path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))):
            stale.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        _refuse_unless_empty(database_url)
    upgrade(database_url)


def _refuse_unless_empty(database_url: str) -> None:
    """Only a SQLite file is ever deleted; a server database must hold no rows at all."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            for name in inspect(conn).get_table_names():
                if name == "alembic_version":
                    continue
                if conn.execute(select(func.count()).select_from(table(name))).scalar():
                    raise DatabaseNotEmpty(
                        f"table {name} has rows; the demo only builds into an empty database "
                        "(or a SQLite file, which it replaces)"
                    )
    finally:
        engine.dispose()


def _set_up_registry(session: Session, clock: FixedClock) -> dict[str, str]:
    for spec in SCOPES:
        scopes.add_scope(
            session,
            clock,
            DEMO_ADMIN,
            scope_id=spec.id,
            name=spec.name,
            kind=spec.kind,
            cutover=CUTOVER,
            lead_hours=LEAD_HOURS,
            business_days_only=spec.business_days_only,
        )
    keys = {}
    for agent_id, name, profile in AGENTS:
        _, keys[agent_id] = agents.add_agent(
            session,
            clock,
            DEMO_ADMIN,
            agent_id=agent_id,
            name=name,
            scopes=[spec.id for spec in SCOPES],
            profile=profile,
        )
    return keys


# --- plates ---------------------------------------------------------------------------------

_NEW_SERIES_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # the 2012 series never uses I or O
_ALL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letters(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _random_plate(rng: random.Random) -> tuple[str, str]:
    """(vehicle type, plate) in the mix of formats seen on Taipei streets."""
    roll = rng.random()
    four, three = f"{rng.randint(1, 9999):04d}", f"{rng.randint(1, 999):03d}"
    if roll < 0.55:
        return "car", f"{_letters(rng, _NEW_SERIES_LETTERS, 3)}-{four}"
    if roll < 0.62:
        return "car", f"{_letters(rng, _ALL_LETTERS, 2)}-{four}"
    if roll < 0.65:
        return "car", f"{four}-{_letters(rng, _ALL_LETTERS, 2)}"
    if roll < 0.85:
        return "motorcycle", f"{_letters(rng, _NEW_SERIES_LETTERS, 3)}-{four}"
    if roll < 0.93:
        return "motorcycle", f"{_letters(rng, _ALL_LETTERS, 3)}-{three}"
    return "motorcycle", f"{three}-{_letters(rng, _ALL_LETTERS, 3)}"


def _demo_plates(rng: random.Random, count: int = PLATE_COUNT) -> list[tuple[str, str]]:
    plates: dict[tuple[str, str], None] = {}
    while len(plates) < count:
        vehicle_type, raw = _random_plate(rng)
        plates[(vehicle_type, canonical_plate(raw, vehicle_type))] = None
    return list(plates)


# --- the plan -------------------------------------------------------------------------------


class PlateRef(NamedTuple):
    scope_id: str
    vehicle_type: str
    plate: str


@dataclass(frozen=True, order=True)
class Step:
    """One thing that happens at ``at``; ``order`` keeps same-instant steps in plan order."""

    at: datetime
    order: int
    action: str = field(compare=False)
    agent: str = field(default="", compare=False)
    ref: PlateRef | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Timeline:
    start: datetime  # the registry is set up here
    now: datetime
    fresh_from: datetime  # a request after this takes effect after ``now``
    suspended_from: datetime
    suspended_until: datetime

    @classmethod
    def ending_at(cls, now: datetime) -> Timeline:
        start = now - timedelta(days=DAYS)
        # The last cut-over at or before ``now`` (daily scope; a business-day scope's is no
        # later), minus the lead: anything requested after that takes effect after ``now``.
        last = first_cutover_at_or_after(
            now - timedelta(days=1, seconds=-1), LOTS_POLICY, BusinessCalendar()
        )
        suspension_day = start.astimezone(TAIPEI).date() + timedelta(days=11)
        return cls(
            start=start,
            now=now,
            fresh_from=last - LOTS_POLICY.lead + timedelta(minutes=1),
            suspended_from=datetime.combine(suspension_day, time(10), TAIPEI),
            suspended_until=datetime.combine(suspension_day + timedelta(days=3), time(15), TAIPEI),
        )

    def is_suspended(self, agent_id: str, at: datetime) -> bool:
        return agent_id == SUSPENDED_AGENT and self.suspended_from <= at <= self.suspended_until

    def cycle_times(self) -> list[datetime]:
        """Five past every cut-over, as the parking office's nightly job runs, and ``now``."""
        first = self.start.astimezone(TAIPEI).date() + timedelta(days=1)
        days = (self.now.astimezone(TAIPEI).date() - first).days + 1
        runs = [
            datetime.combine(first + timedelta(days=d), time(4, 5), TAIPEI) for d in range(days)
        ]
        return [at for at in runs if at < self.now] + [self.now]


# Which story each plate (per scope) lives through, and how often.
STORIES = {
    "active": 34, "ended": 8, "switched": 9, "transferred": 7, "cancelled": 7,
    "ending": 8, "queued": 6, "transferring": 4, "scheduled": 9, "suspended_takeover": 3,
}  # fmt: skip


class Planner:
    """Turns plates into a time-ordered list of steps; pure, deterministic for an ``rng``."""

    def __init__(self, rng: random.Random, timeline: Timeline) -> None:
        self.rng = rng
        self.t = timeline
        self.steps: list[Step] = []
        self._stories: dict[str, Callable[[PlateRef, str | None], str]] = {
            "active": self._active,
            "ended": self._ended,
            "switched": self._switched,
            "transferred": self._transferred,
            "cancelled": self._cancelled,
            "ending": self._ending,
            "queued": self._queued,
            "transferring": self._transferring,
            "scheduled": self._scheduled,
            "suspended_takeover": self._suspended_takeover,
        }

    def plan(self, plates: list[tuple[str, str]]) -> list[Step]:
        self._add(self.t.suspended_from, "suspend", SUSPENDED_AGENT)
        self._add(self.t.suspended_until, "reactivate", SUSPENDED_AGENT)
        names, weights = list(STORIES), list(STORIES.values())
        for vehicle_type, plate in plates:
            story = self.rng.choices(names, weights)[0]
            agent = self._stories[story](PlateRef(SCOPES[0].id, vehicle_type, plate), None)
            if self.rng.random() < ROADSIDE_SHARE:
                story = self.rng.choices(names, weights)[0]
                self._stories[story](PlateRef(SCOPES[1].id, vehicle_type, plate), agent)
        for at in self.t.cycle_times():
            self._add(at, "cycle")
        return sorted(self.steps)

    # helpers

    def _add(self, at: datetime, action: str, agent: str = "", ref: PlateRef | None = None) -> None:
        self.steps.append(Step(at, len(self.steps), action, agent, ref))

    def _moment(self, lo: datetime, hi: datetime) -> datetime:
        """A whole minute in ``[lo, hi]``, in Taipei waking hours when the range allows."""
        span = max(0, int((hi - lo).total_seconds() // 60))
        at = lo
        for _ in range(8):
            at = lo + timedelta(minutes=self.rng.randint(0, span))
            if 7 <= at.astimezone(TAIPEI).hour < 23:
                break
        return at

    def _agent(self, at: datetime, exclude: str = "", prefer: str | None = None) -> str:
        """An agent that may bind at ``at`` (not suspended), by market share."""
        if (
            prefer is not None
            and self._may_bind(prefer, at, exclude)
            and self.rng.random() < SAME_AGENT_BOTH_SCOPES
        ):
            return prefer
        choices = [
            (a, w)
            for a, w in zip(AGENT_IDS, MARKET_SHARE, strict=True)
            if self._may_bind(a, at, exclude)
        ]
        return self.rng.choices([a for a, _ in choices], [w for _, w in choices])[0]

    def _may_bind(self, agent_id: str, at: datetime, exclude: str) -> bool:
        return agent_id != exclude and not self.t.is_suspended(agent_id, at)

    def _bind(
        self, at: datetime, ref: PlateRef, exclude: str = "", prefer: str | None = None
    ) -> str:
        agent = self._agent(at, exclude, prefer)
        self._add(at, "bind", agent, ref)
        return agent

    def _days_ago(self, days: float) -> datetime:
        return self.t.now - timedelta(days=days)

    def _early(self) -> datetime:
        return self.t.start + timedelta(hours=1)

    # stories: each returns the plate's first agent

    def _active(self, ref: PlateRef, prefer: str | None) -> str:
        return self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)

    def _ended(self, ref: PlateRef, prefer: str | None) -> str:
        bound = self._moment(self._early(), self._days_ago(20))
        agent = self._bind(bound, ref, prefer=prefer)
        self._add(self._moment(bound + timedelta(days=2), self._days_ago(4)), "unbind", agent, ref)
        return agent

    def _switched(self, ref: PlateRef, prefer: str | None) -> str:
        """The driver moves to another app: unbind, then the new bind queues behind the end."""
        bound = self._moment(self._early(), self._days_ago(16))
        agent = self._bind(bound, ref, prefer=prefer)
        unbound = self._moment(bound + timedelta(days=2), self._days_ago(5))
        self._add(unbound, "unbind", agent, ref)
        self._bind(unbound + timedelta(minutes=self.rng.randint(10, 300)), ref, exclude=agent)
        return agent

    def _transferred(self, ref: PlateRef, prefer: str | None) -> str:
        bound = self._moment(self._early(), self._days_ago(14))
        agent = self._bind(bound, ref, prefer=prefer)
        self._transfer(self._moment(bound + timedelta(days=3), self._days_ago(3)), ref, agent)
        return agent

    def _transfer(self, at: datetime, ref: PlateRef, holder: str) -> None:
        """The owner gets a code in the portal and gives it to the new app a little later."""
        self._add(at, "issue_code", "", ref)
        redeemed = min(at + timedelta(minutes=self.rng.randint(3, 90)), self.t.now)
        self._add(redeemed, "bind_with_code", self._agent(redeemed, exclude=holder), ref)

    def _cancelled(self, ref: PlateRef, prefer: str | None) -> str:
        """Bound and unbound before the cut-over; often bound again elsewhere days later."""
        first = self.t.start.astimezone(TAIPEI).date() + timedelta(days=1)
        day = first + timedelta(days=self.rng.randint(0, DAYS - 4))
        bound = datetime.combine(
            day, time(self.rng.randint(8, 19), self.rng.randint(0, 59)), TAIPEI
        )
        agent = self._bind(bound, ref, prefer=prefer)
        unbound = bound + timedelta(minutes=self.rng.randint(5, 120))
        self._add(unbound, "unbind", agent, ref)
        if self.rng.random() < 0.5:
            self._bind(
                self._moment(unbound + timedelta(days=1), self._days_ago(1)), ref, exclude=agent
            )
        return agent

    def _ending(self, ref: PlateRef, prefer: str | None) -> str:
        agent = self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)
        self._add(self._moment(self.t.fresh_from, self.t.now), "unbind", agent, ref)
        return agent

    def _queued(self, ref: PlateRef, prefer: str | None) -> str:
        """Unbound today; another app's bind is queued to start exactly at the end."""
        agent = self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)
        unbound = self._moment(self.t.fresh_from, self.t.now - timedelta(minutes=30))
        self._add(unbound, "unbind", agent, ref)
        self._bind(self._moment(unbound, self.t.now), ref, exclude=agent)
        return agent

    def _transferring(self, ref: PlateRef, prefer: str | None) -> str:
        agent = self._bind(self._moment(self._early(), self._days_ago(3)), ref, prefer=prefer)
        self._transfer(self._moment(self.t.fresh_from, self.t.now), ref, agent)
        return agent

    def _scheduled(self, ref: PlateRef, prefer: str | None) -> str:
        return self._bind(self._moment(self.t.fresh_from, self.t.now), ref, prefer=prefer)

    def _suspended_takeover(self, ref: PlateRef, prefer: str | None) -> str:
        """Held by the agent that gets suspended; another app binds it meanwhile, no code."""
        bound = self._moment(self._early(), self.t.suspended_from - timedelta(days=2))
        self._add(bound, "bind", SUSPENDED_AGENT, ref)
        minute = timedelta(minutes=1)
        taken = self._moment(self.t.suspended_from + minute, self.t.suspended_until - minute)
        self._bind(taken, ref, exclude=SUSPENDED_AGENT)
        return SUSPENDED_AGENT


# --- the replay -----------------------------------------------------------------------------


class _Replay:
    """Carries out steps; transfer codes pass from the owner to the new agent in ``codes``."""

    def __init__(self, session: Session, clock: FixedClock, codes: dict[PlateRef, str]) -> None:
        self.session, self.clock, self.codes = session, clock, codes
        self._actions: dict[str, Callable[[Step], object]] = {
            "bind": self._bind,
            "bind_with_code": self._bind,
            "unbind": self._unbind,
            "issue_code": self._issue_code,
            "suspend": self._set_status,
            "reactivate": self._set_status,
            "cycle": lambda _: feed.run_cycle(self.session, self.clock, SYSTEM),
        }

    def run(self, step: Step) -> None:
        self._actions[step.action](step)

    @staticmethod
    def _plate(step: Step) -> dict[str, str]:
        assert step.ref is not None, step
        return step.ref._asdict()

    @staticmethod
    def _actor(step: Step) -> Actor:
        return Actor("agent", step.agent, request_id=f"demo-{step.order:05d}")

    def _bind(self, step: Step) -> None:
        code = self.codes.pop(step.ref) if step.action == "bind_with_code" and step.ref else None
        service.bind(
            self.session,
            self.clock,
            self._actor(step),
            agent_id=step.agent,
            transfer_code=code,
            **self._plate(step),
        )

    def _unbind(self, step: Step) -> None:
        service.unbind_plate(
            self.session, self.clock, self._actor(step), agent_id=step.agent, **self._plate(step)
        )

    def _issue_code(self, step: Step) -> None:
        ref = PlateRef(**self._plate(step))
        self.codes[ref] = transfers.issue(self.session, self.clock, OWNER, *ref).code

    def _set_status(self, step: Step) -> None:
        status = "suspended" if step.action == "suspend" else "active"
        agents.set_agent_status(self.session, self.clock, DEMO_ADMIN, step.agent, status)


def _pin_registry(session: Session) -> list[object]:
    """The identity map holds objects weakly; holding the few scopes, agents and their
    accreditations lets the services' look-ups by primary key skip the database."""
    pinned: list[object] = [*scopes.list_scopes(session), *agents.list_agents(session)]
    pinned += [
        session.get(Accreditation, (agent_id, spec.id)) for agent_id in AGENT_IDS for spec in SCOPES
    ]
    return pinned


def _replay(factory: sessionmaker[Session], clock: FixedClock, steps: list[Step]) -> None:
    """One transaction per simulated Taipei day (the clock still moves step by step): a
    transaction per step would be closer to the API but makes the build several times slower,
    and the rules do not depend on where commits fall."""
    codes: dict[PlateRef, str] = {}
    for _, day in groupby(steps, key=lambda step: step.at.astimezone(TAIPEI).date()):
        with transaction(factory) as session:
            pinned = _pin_registry(session)
            replay = _Replay(session, clock, codes)
            for step in day:
                clock.set(step.at)
                replay.run(step)
            del pinned


# --- the summary ----------------------------------------------------------------------------


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _summarise(
    session: Session, database_url: str, now: datetime, seed: int, keys: dict[str, str]
) -> DemoSummary:
    rows = session.execute(
        select(
            Binding.vehicle_type,
            Binding.plate,
            Binding.valid_from,
            Binding.valid_to,
            Binding.end_reason,
        )
    ).all()
    statuses = Counter(binding_status(r.valid_from, r.valid_to, now).value for r in rows)
    return DemoSummary(
        database_url=make_url(database_url).render_as_string(hide_password=True),
        now=now,
        seed=seed,
        scopes=[spec.id for spec in SCOPES],
        agents=list(AGENT_IDS),
        plates=len({(r.vehicle_type, r.plate) for r in rows}),
        bindings={status.value: statuses[status.value] for status in BindingStatus},
        transfers=sum(1 for r in rows if r.end_reason == EndReason.TRANSFERRED),
        changes=_count(session, BindingChange),
        outbox_events=_count(session, OutboxEvent),
        audit_entries=_count(session, AuditEntry),
        agent_keys=keys,
    )
