"""Running the API under uvicorn (``platebind serve``)."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from platebind.api.health import MULTIPROC_ENV

DATABASE_URL_ENV = "PLATEBIND_DATABASE_URL"
APP_FACTORY = "platebind.api.server:app_from_env"


def app_from_env() -> FastAPI:
    """Uvicorn's factory (``--factory``): each worker builds its app from the environment."""
    from platebind.api.app import create_app

    return create_app(os.environ.get(DATABASE_URL_ENV))


def run_server(
    *, database_url: str, host: str = "127.0.0.1", port: int = 8000, workers: int = 1
) -> None:
    """Serve the API until interrupted. Workers are separate processes that share nothing
    but the database, so the URL reaches them through the environment."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    os.environ[DATABASE_URL_ENV] = database_url
    with ExitStack() as stack:
        if workers > 1 and not os.environ.get(MULTIPROC_ENV):
            # Every worker writes its metrics here, so one scrape of /metrics sees them all.
            os.environ[MULTIPROC_ENV] = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="platebind-metrics-")
            )
        _announce(database_url, host, port, workers)
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            server_header=False,
        )


def _announce(database_url: str, host: str, port: int, workers: int) -> None:
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    database = make_url(database_url).render_as_string(hide_password=True)
    sys.stdout.write(
        f"platebind listening on {base} ({workers} worker{'s' if workers > 1 else ''}); "
        f"API docs at {base}/docs; database {database}\n"
    )
    sys.stdout.flush()
