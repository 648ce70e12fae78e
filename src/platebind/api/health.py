"""Operations endpoints: liveness (``/healthz``), readiness (``/readyz``) and Prometheus
metrics (``/metrics``), plus the small middleware that counts and times requests."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platebind.errors import DomainError

READY_RETRY_AFTER_SECONDS = 5
# Set by ``run_server`` for several workers, so that one scrape sees every worker's counts.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A bare JSON endpoint takes ~80 µs, so the buckets start well below a millisecond.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Labels must stay bounded: unknown methods and paths that match no route share one value.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


class DatabaseUnavailable(DomainError):
    code = "database_unavailable"
    title = "The database is unavailable"
    status = 503


@router.get("/healthz", summary="Liveness: the process answers (no database)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    responses={503: {"description": "The database is unavailable (problem+json)"}},
)
def readyz(request: Request) -> dict[str, str]:
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            # A deferred transaction: a probe must not queue behind SQLite's write lock.
            conn.execution_options(sqlite_begin="DEFERRED")
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        raise DatabaseUnavailable(
            "the database is not reachable; retry shortly",
            retry_after=READY_RETRY_AFTER_SECONDS,
        ) from None
    return {"status": "ready", "database": "ok"}


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
)
async def metrics(request: Request) -> Response:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@dataclass(frozen=True)
class RequestMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram


def new_request_metrics() -> RequestMetrics:
    """Metrics in a registry of their own, so that two apps in one process do not collide."""
    registry = CollectorRegistry()
    if not os.environ.get(MULTIPROC_ENV):
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    labels = ("method", "route", "status")
    return RequestMetrics(
        registry=registry,
        requests=Counter(
            "platebind_http_requests", "HTTP requests answered", labels, registry=registry
        ),
        latency=Histogram(
            "platebind_http_request_duration_seconds",
            "Time to answer an HTTP request",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
    )


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/bindings/{binding_id}``), never the raw path."""
    # FastAPI keeps included routers nested; the effective context has the prefixed template.
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(
        scope.get("route"), "path_format", None
    )
    if template is None and "endpoint" in scope:
        template = _plain_route_template(scope)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


def _plain_route_template(scope: Scope) -> str | None:
    """Plain Starlette routes and mounts (``/docs``, static files) only name their endpoint."""
    endpoint = scope["endpoint"]
    for route in getattr(scope.get("app"), "routes", ()):
        if isinstance(route, Mount) and route.app is endpoint:
            return route.path + "/{path}"
        if getattr(route, "endpoint", None) is endpoint:
            return getattr(route, "path_format", None)
    return None


class RequestMetricsMiddleware:
    """Pure ASGI (no ``BaseHTTPMiddleware``), with the labelled children cached: ``labels()``
    validates and locks on every call, which would cost more than the rest together."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # Bounded like the labels themselves: methods x route templates x statuses.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        key = (method, route_template(scope), status)
        children = self._children.get(key)
        if children is None:
            labels = (method, key[1], str(status))
            children = self.metrics.requests.labels(*labels), self.metrics.latency.labels(*labels)
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def install_metrics(app: FastAPI) -> None:
    app.state.metrics = new_request_metrics()
    app.add_middleware(RequestMetricsMiddleware, metrics=app.state.metrics)
