"""Running the API under uvicorn (``platebind serve``).

The webhook dispatcher runs as one background thread of the serving process (the parent, with
several workers), not one per uvicorn worker: one is enough for a machine, and more serve
processes behind a load balancer each bring their own, which the claims make safe.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from platebind.api.health import MULTIPROC_ENV
from platebind.portal.tasks import background_notices
from platebind.webhooks.worker import background_worker

DATABASE_URL_ENV = "PLATEBIND_DATABASE_URL"
APP_FACTORY = "platebind.api.server:app_from_env"


def app_from_env() -> FastAPI:
    """Uvicorn's factory (``--factory``): each worker builds its app from the environment."""
    from platebind.api.app import create_app

    return create_app(os.environ.get(DATABASE_URL_ENV))


def run_server(
    *,
    database_url: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    webhook_worker: bool = True,
) -> None:
    """Serve the API until interrupted (SIGTERM, CTRL-C). Workers are separate processes that
    share nothing but the database, so the URL reaches them through the environment.

    ``webhook_worker``: also deliver webhooks and portal notices from background threads of
    this process; stopped after the server, once the request in flight has finished.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    os.environ[DATABASE_URL_ENV] = database_url
    with ExitStack() as stack:
        stack.enter_context(_sigterm_exits())
        if webhook_worker:
            stack.enter_context(background_worker(database_url))
            stack.enter_context(background_notices(database_url))
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
            # RequestContext writes one JSON line per request (with its id); uvicorn's own
            # access line would only repeat it, at a cost measured in bench/load.py.
            access_log=False,
            server_header=False,
        )


STARTUP_TIMEOUT = 10.0


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on a free loopback port from a background thread while the block runs;
    its base URL. Lifespan start-up and shut-down included (tests, the simulator)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Bound before the server starts: the port is ours, no race with another process.
    sock.bind((host, 0))
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.005)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()


@contextmanager
def _sigterm_exits() -> Iterator[None]:
    """SIGTERM unwinds this process through its ``finally`` blocks and exits 0.

    After its graceful shutdown uvicorn raises the signal it caught once more, with the
    handler it found installed. Python's default for SIGTERM ends the process on the spot,
    which would cut the webhook worker's request in flight and skip its clean stop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, exit_cleanly)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _announce(database_url: str, host: str, port: int, workers: int) -> None:
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    database = make_url(database_url).render_as_string(hide_password=True)
    sys.stdout.write(
        f"platebind listening on {base} ({workers} worker{'s' if workers > 1 else ''}); "
        f"API docs at {base}/docs; database {database}\n"
    )
    sys.stdout.flush()
