"""The database goes away and comes back: a private PostgreSQL server is stopped (immediately,
like a crash) under a running ``platebind serve`` and ``platebind worker``, then started again.

While it is gone the API answers 503 ``database_unavailable`` with ``Retry-After`` (never a
500), ``/readyz`` says so, ``/healthz`` still answers, and a portal page is an HTML page saying
the portal cannot be used right now. When it is back everything resumes without a restart: the
same processes accept requests, a retry with the same ``Idempotency-Key`` binds exactly once,
and the webhooks of the new binding are delivered.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from platebind.clock import FixedClock
from platebind.db import make_engine, make_session_factory, upgrade
from platebind.webhooks import service as webhooks
from tests.conftest import ADMIN, T0, Db
from tests.faults.postgres_cluster import PostgresCluster, new_cluster, remove_cluster
from tests.processes import free_port, start_cli, wait_until_serving
from tests.registry.world import build_world
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.postgres
RECOVERY_TIMEOUT = 30.0
PROBLEM = "application/problem+json"


@dataclass
class Outage:
    cluster: PostgresCluster
    base_url: str
    keys: dict[str, str]
    receiver: Receiver
    serve: subprocess.Popen[str]
    worker: subprocess.Popen[str]

    def agent(self, agent_id: str = "cmj") -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.keys[agent_id]}"},
            timeout=15.0,
        )


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    try:
        created = new_cluster()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"a private PostgreSQL server is required when CI=true: {exc}")
        pytest.skip(f"cannot make a private PostgreSQL server: {exc}")
    created.start()
    try:
        yield created
    finally:
        remove_cluster(created)


@pytest.fixture
def outage(cluster: PostgresCluster) -> Iterator[Outage]:
    url = cluster.create_database(f"platebind_outage_{uuid.uuid4().hex[:8]}")
    upgrade(url)
    engine = make_engine(url)
    db = Db(url, engine, make_session_factory(engine), FixedClock(T0))
    keys = build_world(db).keys
    with Receiver() as receiver:
        with db.tx() as s:
            webhooks.set_endpoint(s, db.clock, ADMIN, "cmj", receiver.url)
        engine.dispose()
        port = free_port()
        serve = start_cli("serve", "--port", str(port), "--database-url", url)
        worker = start_cli("worker", "--database-url", url)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_serving(base_url, serve)
            yield Outage(cluster, base_url, keys, receiver, serve, worker)
        finally:
            for proc in (serve, worker):
                proc.kill()
                proc.communicate(timeout=30)


def _bind(client: httpx.Client, plate: str, key: str) -> httpx.Response:
    body = {"scope": "tpe-lots", "vehicle_type": "car", "plate": plate}
    return client.post("/v1/bindings", json=body, headers={"Idempotency-Key": key})


def _wait_until_ready(base_url: str) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        if httpx.get(f"{base_url}/readyz", timeout=10).status_code == 200:
            return
        time.sleep(0.2)
    raise TimeoutError("/readyz did not recover")


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert "127.0.0.1" not in response.text  # no connection details


def test_serve_answers_503_while_postgresql_is_down_and_resumes_without_a_restart(
    outage: Outage,
) -> None:
    agent = outage.agent()
    before = _bind(agent, "ABC-1001", "before-1")
    assert before.status_code == 201, before.text
    outage.receiver.wait_for(1, timeout=RECOVERY_TIMEOUT)

    outage.cluster.stop()

    started = time.monotonic()
    _assert_unavailable(httpx.get(f"{outage.base_url}/readyz", timeout=15))
    _assert_unavailable(_bind(agent, "ABC-1002", "during-1"))
    _assert_unavailable(agent.get(f"/v1/bindings/{before.json()['id']}"))
    page = httpx.get(f"{outage.base_url}/portal/login", timeout=15)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "5"
    assert "系統暫時無法使用" in page.text
    english = httpx.get(
        f"{outage.base_url}/portal/login", cookies={"platebind_lang": "en"}, timeout=15
    )
    assert "The portal cannot be used right now" in english.text
    assert httpx.get(f"{outage.base_url}/healthz", timeout=5).status_code == 200
    assert time.monotonic() - started < 10  # refusals are quick, not timeouts

    outage.cluster.start()
    _wait_until_ready(outage.base_url)

    retried = _bind(agent, "ABC-1002", "during-1")
    assert retried.status_code == 201, retried.text
    again = _bind(agent, "ABC-1002", "during-1")
    assert again.json()["id"] == retried.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    listed = agent.get("/v1/bindings", params={"plate": "ABC-1002"}).json()
    assert [b["id"] for b in listed["items"]] == [retried.json()["id"]]
    # The webhook workers (serve's thread and `platebind worker`) carried on by themselves.
    delivered = outage.receiver.wait_for(2, timeout=RECOVERY_TIMEOUT)
    assert {r.json["data"]["plate"] for r in delivered} >= {"ABC-1001", "ABC-1002"}
    assert outage.serve.poll() is None
    assert outage.worker.poll() is None
