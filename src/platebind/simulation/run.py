"""Driving simulated traffic through the real gate API.

The lots are real ones from the database (those whose tariff reads in full), each gets a fresh
lot-operator key, the drivers are the plates bound in the lots' scope plus made-up visitors,
and every read is posted to ``POST /v1/lots/{lot}/events`` of a running server — one started
here on the database, on a clock the simulation moves to each read's time, or ``base_url``
(then the reads are sent as ``replayed``: they happened in the simulated past). Afterwards the
agents answer their charges (most paid, some declined), so statements and bills have content.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from platebind.billing import charges
from platebind.billing.models import Charge
from platebind.clock import FixedClock, SystemClock, taipei_iso
from platebind.db import make_engine, make_session_factory, transaction
from platebind.parking.models import Lot, LotTariff
from platebind.registry import agents
from platebind.registry.audit import Actor
from platebind.registry.models import Binding
from platebind.simulation.traffic import PlatePool, Read, Shares, SimLot, plan_traffic

SIMULATOR = Actor("system", "simulator")
# The gate's vehicle types: the tariff classes a lot can read in full, as LPR reports them.
GATE_TYPES = ("car", "motorcycle")


@dataclass(frozen=True)
class Plan:
    lots: int
    hours: float
    rate: float
    start: datetime
    seed: int = 7
    shares: Shares = field(default_factory=Shares)
    scope_id: str = "tpe-lots"
    share_paid: float = 0.95
    # Plates that visit the first lot once (vehicle type, plate); their charges are declined,
    # so the demo's member has a bill to pay.
    guests: tuple[tuple[str, str], ...] = ()


@dataclass
class Summary:
    lots: list[str]
    events: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    charges: int = 0
    charged_amount: int = 0
    paid: int = 0
    declined: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["actions"], doc["flags"] = dict(self.actions), dict(self.flags)
        doc["events_per_second"] = round(self.events / self.seconds, 1) if self.seconds else None
        doc["seconds"] = round(self.seconds, 2)
        return doc


def choose_lots(session: Session, scope_id: str, count: int, rng: random.Random) -> list[SimLot]:
    """``count`` lots of the scope whose car or motorcycle tariff reads in full."""
    stmt = (
        select(Lot.id, LotTariff.tariff_class)
        .join(LotTariff, LotTariff.lot_id == Lot.id)
        .where(Lot.scope_id == scope_id, LotTariff.status == "full")
        .where(LotTariff.tariff_class.in_(GATE_TYPES))
        .order_by(Lot.id, LotTariff.tariff_class)
    )
    classes: dict[str, list[str]] = {}
    for lot_id, tariff_class in session.execute(stmt):
        classes.setdefault(lot_id, []).append(tariff_class)
    chosen = rng.sample(sorted(classes), min(count, len(classes)))
    return [SimLot(lot_id, tuple(classes[lot_id])) for lot_id in sorted(chosen)]


def bound_plates(session: Session, scope_id: str, at: datetime) -> list[tuple[str, str]]:
    stmt = (
        select(Binding.vehicle_type, Binding.plate)
        .where(Binding.scope_id == scope_id, Binding.valid_from <= at)
        .where((Binding.valid_to.is_(None)) | (Binding.valid_to > at))
        .order_by(Binding.vehicle_type, Binding.plate)
    )
    return [(vt, plate) for vt, plate in session.execute(stmt)]


def event_body(read: Read, run: str, replayed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": f"{run}-{read.event_id}",
        "gate": read.gate,
        "plate": read.plate,
        "vehicle_type": read.vehicle_type,
        "at": read.at.isoformat(),
        "confidence": read.confidence,
    }
    if replayed:
        body["replayed"] = True
    return body


def post_reads(
    client: httpx.Client,
    keys: dict[str, str],
    reads: Sequence[Read],
    *,
    run: str,
    clock: FixedClock | None,
    summary: Summary,
    progress: Callable[[int], object],
) -> None:
    """Post every read in time order (moving ``clock`` to it first, when it is ours)."""
    for read in reads:
        if clock is not None:
            clock.set(read.at)
        response = client.post(
            f"/v1/lots/{read.lot_id}/events",
            json=event_body(read, run, replayed=clock is None),
            headers={"Authorization": f"Bearer {keys[read.lot_id]}"},
        )
        response.raise_for_status()
        decision = response.json()
        summary.events += 1
        summary.actions[f"{read.gate}:{decision['action']}"] += 1
        summary.flags.update(decision.get("flags") or [])
        progress(1)


def settle_requested(
    factory: sessionmaker[Session], now: datetime, rng: random.Random, plan: Plan
) -> tuple[int, int, int, int]:
    """The agents answer every requested charge: (charges, amount, paid, declined)."""
    with transaction(factory) as session:
        stmt = select(Charge).where(Charge.status == "requested").order_by(Charge.requested_at)
        requested = list(session.scalars(stmt))
        paid = declined = 0
        guests = {plate for _vt, plate in plan.guests}
        for charge in requested:
            paid_by_chance = rng.random() < plan.share_paid
            outcome = "paid" if paid_by_chance and charge.plate not in guests else "declined"
            charges.settle(
                session,
                now,
                charge.agent_id,
                charge.id,
                outcome,
                reference=f"sim-{charge.id.hex[:12]}" if outcome == "paid" else None,
                reason="card expired" if outcome == "declined" else None,
                actor=SIMULATOR,
            )
            paid, declined = paid + (outcome == "paid"), declined + (outcome == "declined")
        return len(requested), sum(c.amount for c in requested), paid, declined


@contextmanager
def _server(database_url: str, clock: FixedClock) -> Iterator[str]:
    from platebind.api.app import create_app
    from platebind.api.middleware import configure_logging
    from platebind.api.server import serve_in_thread

    app = create_app(database_url, clock=clock)
    # The progress bar and the summary are the output; a line per request would bury them.
    configure_logging(logging.WARNING)
    with serve_in_thread(app) as base_url:
        yield base_url


def simulate(
    database_url: str,
    plan: Plan,
    *,
    base_url: str | None = None,
    progress: Callable[[int], object] = lambda _n: None,
    on_plan: Callable[[int], object] = lambda _n: None,
) -> Summary:
    """Run ``plan`` against the database (and ``base_url`` if given); the summary."""
    rng = random.Random(plan.seed)
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        clock = FixedClock(plan.start)
        with transaction(factory) as session:
            lots = choose_lots(session, plan.scope_id, plan.lots, rng)
            keys = {lot.id: agents.issue_key(session, clock, "lot", lot.id) for lot in lots}
            pool = PlatePool(rng, bound_plates(session, plan.scope_id, plan.start), plan.shares)
        reads = plan_traffic(
            rng, lots, pool, plan.start, plan.hours, plan.rate, plan.shares, plan.guests
        )
        on_plan(len(reads))
        summary = Summary([lot.id for lot in lots])
        run = f"sim{plan.seed}-{taipei_iso(plan.start)}"
        started = time.perf_counter()
        with (
            _target(database_url, clock, base_url) as (url, moving),
            httpx.Client(base_url=url, timeout=30.0) as client,
        ):
            post_reads(
                client, keys, reads, run=run, clock=moving, summary=summary, progress=progress
            )
        summary.seconds = time.perf_counter() - started
        end = plan.start + timedelta(hours=plan.hours)
        settled_at = end if base_url is None else SystemClock().now()
        counts = settle_requested(factory, settled_at, rng, plan)
        summary.charges, summary.charged_amount, summary.paid, summary.declined = counts
        return summary
    finally:
        engine.dispose()


@contextmanager
def _target(
    database_url: str, clock: FixedClock, base_url: str | None
) -> Iterator[tuple[str, FixedClock | None]]:
    if base_url is not None:
        yield base_url, None
        return
    with _server(database_url, clock) as url:
        yield url, clock
