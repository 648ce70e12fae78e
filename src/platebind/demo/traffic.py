"""A day of traffic for the demo: Taipei's lots imported, then a day of LPR reads at a few of
them driven through the real gate API by the simulator, the demo member's held car among the
visitors (its charge declined, so 我的帳單 has a bill to pay)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from platebind.clock import FixedClock
from platebind.data import TAIPEI_FEED
from platebind.db import transaction
from platebind.demo.profiles import DEMO_ADMIN
from platebind.parking import service as lots
from platebind.simulation.run import Plan, simulate

DEMO_LOTS, DEMO_HOURS, DEMO_RATE = 8, 24.0, 8.0


def add_traffic(
    database_url: str,
    factory: sessionmaker[Session],
    now: datetime,
    seed: int,
    guests: tuple[tuple[str, str], ...],
    progress: Callable[[int], object] = lambda _n: None,
) -> dict[str, Any]:
    """Import the lots, simulate the day before ``now``; the simulator's summary."""
    with transaction(factory) as session:
        lots.import_taipei(
            session, FixedClock(now), DEMO_ADMIN, lots.read_feed(TAIPEI_FEED), "tpe-lots"
        )
    plan = Plan(
        lots=DEMO_LOTS,
        hours=DEMO_HOURS,
        rate=DEMO_RATE,
        start=now - timedelta(hours=DEMO_HOURS),
        seed=seed,
        guests=guests,
    )
    return simulate(database_url, plan, progress=progress).as_dict()
