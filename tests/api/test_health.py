"""Operations endpoints and the API's error contract, against a real uvicorn server."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from platebind.api.app import create_app
from platebind.registry.errors import TransferCodeRateLimited
from tests.api.conftest import LiveServer, Serve

PROBLEM = "application/problem+json"


@pytest.fixture
def unreachable_pg_url() -> Iterator[str]:
    """A PostgreSQL URL on a loopback port that is bound but never listens: refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/platebind"


class Probe(BaseModel):
    plate: str
    count: int


def _probe_app(database_url: str) -> FastAPI:
    """The real app plus a feature-like ``/v1`` router that exercises the error handlers."""

    probes = APIRouter(prefix="/probes")

    @probes.get("/{probe_id}")
    def get_probe(probe_id: int) -> dict[str, int]:
        return {"probe_id": probe_id}

    @probes.post("")
    def post_probe(probe: Probe, limit: int = 10) -> dict[str, int]:
        return {"count": probe.count, "limit": limit}

    @probes.get("/errors/refused")
    def refused() -> None:
        raise TransferCodeRateLimited("slow down", retry_after=3600)

    @probes.get("/errors/crash")
    def crash() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(database_url)
    app.include_router(probes, prefix="/v1")
    return app


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_healthz_answers_without_touching_the_database(
    serve_app: Serve, unreachable_pg_url: str
) -> None:
    with serve_app(create_app(unreachable_pg_url)) as server, server.client() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}


def test_readyz_does_not_queue_behind_a_sqlite_writer(serve_app: Serve, sqlite_url: str) -> None:
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")  # as every platebind connection sets it
    writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a long bind batch would
    try:
        with serve_app(create_app(sqlite_url)) as server, server.client() as client:
            started = time.monotonic()
            response = client.get("/readyz")
            elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 200
    assert elapsed < 2  # the busy timeout is 30 s


def test_readyz_is_a_503_problem_with_retry_after_when_the_database_is_down(
    serve_app: Serve, unreachable_pg_url: str
) -> None:
    with serve_app(create_app(unreachable_pg_url)) as server, server.client() as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert body["status"] == 503
    assert "127.0.0.1" not in response.text  # no connection details leak


def test_metrics_count_requests_by_route_template_and_status(
    serve_app: Serve, sqlite_url: str
) -> None:
    with serve_app(_probe_app(sqlite_url)) as server, server.client() as client:
        for probe_id in (1, 2, 3):
            assert client.get(f"/v1/probes/{probe_id}").status_code == 200
        assert client.get("/v1/probes/not-a-number").status_code == 422
        assert client.get("/healthz").status_code == 200
        assert client.get("/no/such/path").status_code == 404
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    counts = _samples(response.text, "platebind_http_requests_total")
    route = "/v1/probes/{probe_id}"
    assert counts[(("method", "GET"), ("route", route), ("status", "200"))] == 3
    assert counts[(("method", "GET"), ("route", route), ("status", "422"))] == 1
    assert counts[(("method", "GET"), ("route", "/healthz"), ("status", "200"))] == 1
    assert counts[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] == 1
    assert not any("/v1/probes/1" in dict(labels)["route"] for labels in counts)
    latency = _samples(response.text, "platebind_http_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", route), ("status", "200"))] == 3


def test_openapi_lists_the_routes_and_docs_are_served(serve_app: Serve, sqlite_url: str) -> None:
    with serve_app(create_app(sqlite_url)) as server, server.client() as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert spec["info"]["title"] == "platebind"
    assert {"/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


def test_an_unknown_path_is_a_404_problem(serve_app: Serve, sqlite_url: str) -> None:
    with serve_app(create_app(sqlite_url)) as server, server.client() as client:
        response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "not_found"
    assert response.json()["status"] == 404


def test_a_wrong_method_is_a_405_problem_that_names_the_allowed_ones(
    serve_app: Serve, sqlite_url: str
) -> None:
    with serve_app(create_app(sqlite_url)) as server, server.client() as client:
        response = client.post("/healthz")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"


def test_a_domain_refusal_is_a_problem_and_retry_after_becomes_a_header(
    serve_app: Serve, sqlite_url: str
) -> None:
    with serve_app(_probe_app(sqlite_url)) as server, server.client() as client:
        response = client.get("/v1/probes/errors/refused")
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "3600"
    body = response.json()
    assert body["code"] == "transfer_code_rate_limited"
    assert body["type"].endswith("/transfer_code_rate_limited")
    assert body["detail"] == "slow down"


def test_a_validation_error_is_a_422_problem_naming_each_field(
    serve_app: Serve, sqlite_url: str
) -> None:
    with serve_app(_probe_app(sqlite_url)) as server, server.client() as client:
        response = client.post("/v1/probes?limit=many", json={"count": "lots"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "validation_error"
    fields = {(e["in"], e["field"]) for e in body["errors"]}
    assert fields == {("query", "limit"), ("body", "plate"), ("body", "count")}
    assert all(e["message"] for e in body["errors"])


def test_an_unexpected_error_is_a_500_problem_without_internals(
    serve_app: Serve, sqlite_url: str
) -> None:
    with serve_app(_probe_app(sqlite_url)) as server, server.client() as client:
        response = client.get("/v1/probes/errors/crash")
        after = client.get("/healthz")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert after.status_code == 200  # the server keeps serving


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_health(base_url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError("server did not come up")


def test_run_server_with_two_workers_serves_one_metrics_view(sqlite_url: str) -> None:
    port = _free_port()
    code = (
        "from platebind.api.server import run_server; "
        f"run_server(database_url={sqlite_url!r}, port={port}, workers=2)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(base_url, proc)
        for _ in range(20):
            # New connections, so the kernel spreads them over both workers.
            assert httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
        metrics = httpx.get(f"{base_url}/metrics", timeout=5).text
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    counts = _samples(metrics, "platebind_http_requests_total")
    assert counts[(("method", "GET"), ("route", "/readyz"), ("status", "200"))] == 20
    assert f"platebind listening on {base_url}" in output


def test_an_api_call_while_the_database_is_down_is_a_503_with_retry_after(
    serve_app: Serve, unreachable_pg_url: str
) -> None:
    with serve_app(create_app(unreachable_pg_url)) as server, server.client() as client:
        response = client.post(
            "/v1/bindings",
            json={"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"},
            headers={"Authorization": "Bearer pbk_0123456789abcdef_secret"},
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert "127.0.0.1" not in response.text
