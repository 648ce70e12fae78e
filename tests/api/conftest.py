"""A real uvicorn server on a free loopback port, in a background thread, for API tests.

``serve(app)`` starts any app; ``live_server`` serves ``create_app`` on the parametrised ``db``
(SQLite and PostgreSQL). Clients are plain httpx against the real socket, so middleware,
lifespan and error handlers run exactly as in production.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class LiveServer:
    app: FastAPI
    base_url: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10.0)


def _loopback_socket() -> socket.socket:
    # Bound before the server starts: the port is ours, no race with other tests.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait_until(condition: Callable[[], bool], thread: threading.Thread, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not condition():
        if not thread.is_alive():
            raise RuntimeError(f"the server thread died before {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server did not get {what} within {STARTUP_TIMEOUT}s")
        time.sleep(0.005)


@contextmanager
def serve(app: FastAPI) -> Iterator[LiveServer]:
    """Serve ``app`` until the block ends; lifespan start-up and shut-down included."""
    sock = _loopback_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_until(lambda: server.started, thread, "started")
        yield LiveServer(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()


Serve = Callable[[FastAPI], AbstractContextManager[LiveServer]]


@pytest.fixture
def serve_app() -> Serve:
    """Start any app (e.g. one with a test route added) as a live server."""
    return serve


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database for tests that need a database but not both dialects."""
    path = tmp_path / "api.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"
