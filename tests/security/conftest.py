"""Several real ``platebind serve`` processes on one PostgreSQL database, with their logs.

The processes run on the system clock (a real deployment), so the world is built a few days in
the past: bindings made then are active now.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from platebind.clock import FixedClock
from tests.conftest import Db
from tests.portal.conftest import PortalClient, import_owners
from tests.processes import PROCESS_TIMEOUT, free_port, start_cli, wait_until_serving
from tests.registry.world import build_world
from tests.vehicles.extracts import KEY

# Trust authentication ignores it, so the URL may carry a password the logs must never show.
DATABASE_PASSWORD = "db-pa55word-never-logged"


@dataclass
class Deployment:
    db: Db
    url: str  # with the password
    base_urls: list[str]
    agent_keys: dict[str, str]
    log: Path
    processes: list[subprocess.Popen[str]]

    def portal(self, index: int = 0) -> PortalClient:
        return PortalClient(self.base_urls[index])

    def agent_api(self, agent: str, index: int = 0) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_urls[index],
            headers={"Authorization": f"Bearer {self.agent_keys[agent]}"},
            timeout=10.0,
        )

    def stop(self) -> str:
        """SIGTERM every process (they flush and exit 0); everything they logged."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            proc.wait(timeout=PROCESS_TIMEOUT)
        return self.log.read_text()


@pytest.fixture
def deployment(pg_db: Db, tmp_path: Path) -> Iterator[Deployment]:
    """Two serve processes (one with the webhook worker) on one database."""
    pg_db.clock = FixedClock(datetime.now(UTC) - timedelta(days=3))
    world = build_world(pg_db)
    import_owners(pg_db)
    url = make_url(pg_db.url).set(password=DATABASE_PASSWORD).render_as_string(False)
    log = tmp_path / "serve.log"
    env = {"PLATEBIND_ID_HASH_KEY": KEY, "PLATEBIND_PORTAL_SECURE_COOKIES": "false"}
    ports = [free_port(), free_port()]
    processes = [
        start_cli("serve", "--port", str(ports[0]), "--database-url", url, env=env, log=log),
        start_cli(
            "serve", "--port", str(ports[1]), "--no-worker", "--database-url", url, env=env, log=log
        ),
    ]
    deployment = Deployment(
        pg_db,
        url,
        [f"http://127.0.0.1:{port}" for port in ports],
        world.keys,
        log,
        processes,
    )
    try:
        for base_url, proc in zip(deployment.base_urls, processes, strict=True):
            wait_until_serving(base_url, proc)
        yield deployment
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=PROCESS_TIMEOUT)
