"""The FastAPI application factory.

One app per process (per uvicorn worker); it keeps its engine and session factories on
``app.state`` and nothing else in memory that another process would need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from platebind import __version__
from platebind.api import health
from platebind.api.docs import finish_openapi
from platebind.api.errors import install_error_handlers
from platebind.api.limits import BodyLimit
from platebind.api.middleware import RequestContext, configure_logging
from platebind.billing import api as billing_api
from platebind.clock import Clock, SystemClock
from platebind.config import Settings
from platebind.db import make_engine, make_session_factory, read_only_factory
from platebind.parking import api as parking_api
from platebind.portal.app import install_portal
from platebind.registry import api as registry_api
from platebind.roadside import api as roadside_api
from platebind.roadside import settlement as roadside_settlement
from platebind.webhooks import api as webhooks_api

DESCRIPTION = (
    "Plate-binding registry and card-free parking clearing house. Errors are RFC 9457 "
    "problems (`application/problem+json`) with a stable `code`."
)


def create_app(
    database_url: str | None = None,
    *,
    clock: Clock | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """Build the app for ``database_url`` (default: ``settings.database_url``); ``settings``
    default to the environment's (``PLATEBIND_*``).

    The engine connects lazily, so building the app never touches the database; ``/readyz``
    says whether it is reachable.
    """
    settings = settings if settings is not None else Settings()
    url = database_url if database_url is not None else settings.database_url
    configure_logging()
    app = FastAPI(
        title="platebind",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    engine = make_engine(url)
    app.state.settings = settings
    app.state.clock = clock if clock is not None else SystemClock()
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.read_session_factory = read_only_factory(engine)
    app.add_middleware(BodyLimit)  # first added, innermost: its 413s get every header
    install_error_handlers(app)
    roadside_settlement.install()  # this app's settle route may settle roadside charges
    install_portal(app)
    health.install_metrics(app)
    # Added last so it runs first: every response, errors included, carries the request id.
    app.add_middleware(RequestContext)
    _include_routers(app)
    _install_openapi(app)
    return app


def _install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _include_routers(app: FastAPI) -> None:
    """One line per feature router; ``/v1`` routers are included with ``prefix="/v1"``."""
    app.include_router(health.router)
    app.include_router(registry_api.router, prefix="/v1")
    app.include_router(webhooks_api.router, prefix="/v1")
    app.include_router(billing_api.router, prefix="/v1")
    app.include_router(parking_api.router, prefix="/v1")
    app.include_router(roadside_api.router, prefix="/v1")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.engine.dispose()
