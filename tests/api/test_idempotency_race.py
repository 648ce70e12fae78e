"""Idempotency under concurrency on PostgreSQL: 20 identical requests at once, one effect."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from platebind.api.app import create_app
from platebind.registry.models import Binding, BindingChange
from tests.api.conftest import serve
from tests.conftest import Db
from tests.registry.world import build_world

pytestmark = pytest.mark.postgres
CLIENTS = 20


def test_same_key_sent_20_times_at_once_binds_once_and_answers_alike(pg_db: Db) -> None:
    key = build_world(pg_db).keys["cmj"]
    body = {"scope": "tpe-lots", "vehicle_type": "car", "plate": "RAC-1234"}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "race-1"}
    barrier = threading.Barrier(CLIENTS)
    with serve(create_app(pg_db.url, clock=pg_db.clock)) as server:

        def post(_: int) -> httpx.Response:
            with httpx.Client(base_url=server.base_url, timeout=30) as client:
                barrier.wait()
                return client.post("/v1/bindings", json=body, headers=headers)

        with ThreadPoolExecutor(CLIENTS) as pool:
            responses = list(pool.map(post, range(CLIENTS)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == CLIENTS - 1
    with pg_db.tx() as s:
        assert s.scalar(select(func.count()).select_from(Binding)) == 1
        assert s.scalar(select(func.count()).select_from(BindingChange)) == 1
