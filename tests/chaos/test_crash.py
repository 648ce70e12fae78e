"""The crash harness, small: one kill per scenario on SQLite and on PostgreSQL (the long run is
``python -m tests.chaos``). Each run starts ``platebind serve`` as a real process, kills it
with SIGKILL four times under load (once while ``cycle run`` works, once with webhook
deliveries in flight, once while ``statements export`` writes), and checks every invariant in
the database afterwards."""

from __future__ import annotations

import os

import psycopg
import pytest

from tests.chaos.harness import ChaosConfig, run_chaos
from tests.chaos.load import Pace
from tests.chaos.report import SCENARIOS, as_table
from tests.chaos.world import WorldSize
from tests.conftest import PG_ADMIN_URL

SMALL_WORLD = WorldSize(prebound=120, export_lines=3000)
# About 60 requests a second: steady load that leaves the 2-core machine some air.
LIGHT_LOAD = Pace(agent=0.05, gate=0.04)


@pytest.fixture
def admin_url(request: pytest.FixtureRequest) -> str:
    """Where a run creates (and drops) its own database: PostgreSQL's admin URL, or nothing
    for SQLite. PostgreSQL must be there when CI=true, as for every other test."""
    if request.node.callspec.params["database"] != "postgresql":
        return PG_ADMIN_URL
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return PG_ADMIN_URL
    except psycopg.Error as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required when CI=true and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_sigkill_under_load_loses_nothing_accepted_and_breaks_no_invariant(
    database: str, admin_url: str
) -> None:
    config = ChaosConfig(
        database, kills=4, seed=11, size=SMALL_WORLD, pace=LIGHT_LOAD, uptime=(0.3, 0.8),
        replays=150, admin_url=admin_url,
    )  # fmt: skip
    report = run_chaos(config)

    assert report.violations == 0, as_table([report])
    # The kills happened, one per scenario, and each started a new server process.
    assert dict(report.kills) == dict.fromkeys(SCENARIOS, 1)
    assert len(set(report.server_pids)) == 5
    # Clients met the dead server and sent the same requests again until answered.
    assert report.requests["transport_errors"] > 0
    assert report.requests["retried"] > 0
    assert report.requests["accepted"] > 100
    # Work was really under way: webhooks went out, the checks had something to check.
    assert report.webhooks["outbox_events"] > 0
    assert report.export["reference_files"] == 3
