"""Building the demo world: a fresh database, the registry set up, the plan replayed day by day
through the services on a moving :class:`FixedClock`, and a summary of what came out."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from platebind.clock import TAIPEI, FixedClock, ensure_aware, taipei_iso
from platebind.db import make_engine, make_session_factory, normalise_url, transaction, upgrade
from platebind.demo.members import add_demo_member
from platebind.demo.profiles import (
    AGENT_IDS,
    AGENTS,
    CUTOVER,
    DEMO_ADMIN,
    LEAD_HOURS,
    OWNER,
    SCOPES,
    demo_plates,
)
from platebind.demo.story import Planner, PlateRef, Step, Timeline
from platebind.demo.traffic import add_traffic
from platebind.errors import DomainError, InvalidInput
from platebind.registry import agents, feed, scopes, service, transfers
from platebind.registry.audit import SYSTEM, Actor
from platebind.registry.models import Accreditation, AuditEntry, Binding, BindingChange
from platebind.registry.rules import BindingStatus, EndReason, binding_status
from platebind.webhooks.models import OutboxEvent


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
    # The demo member's log-in and plates (when built with an ID hash key).
    portal: dict[str, Any] | None = field(default=None, repr=False)
    # The simulated day of lot traffic (when built with traffic).
    traffic: dict[str, Any] | None = field(default=None, repr=False)

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
            "portal": self.portal,
            "traffic": self.traffic,
        }


def build_demo_world(
    database_url: str,
    *,
    now: datetime,
    seed: int = 7,
    id_hash_key: str | None = None,
    traffic: bool = False,
    on_traffic: Callable[[int], object] | None = None,
) -> DemoSummary:
    """Replace the database behind ``database_url`` with the demo world as of ``now``.

    A SQLite file is deleted and rebuilt; any other database must be empty
    (``database_not_empty`` otherwise). Same seed and ``now``, same world. With
    ``id_hash_key`` (the server's ``PLATEBIND_ID_HASH_KEY``) it also has a portal member;
    with ``traffic``, Taipei's lots and a simulated day of gate traffic (the member's held car
    among it).
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
        steps = Planner(random.Random(seed), timeline).plan(demo_plates(random.Random(seed)))
        _replay(factory, clock, steps)
        clock.set(now)
        with transaction(factory) as session:
            portal = (
                None if id_hash_key is None else add_demo_member(session, now, id_hash_key, clock)
            )
        guests = tuple(portal["guests"]) if portal else ()
        day = (
            add_traffic(database_url, factory, now, seed, guests, on_traffic or _ignore)
            if traffic
            else None
        )
        with transaction(factory) as session:
            summary = _summarise(session, database_url, now, seed, keys)
        return replace(summary, portal=portal, traffic=day)
    finally:
        engine.dispose()


def _ignore(_events: int) -> None:
    return None


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
            name_en=spec.name_en,
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
