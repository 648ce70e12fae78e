"""A real uvicorn server on a free loopback port, in a background thread, for API tests.

``serve(app)`` starts any app; ``live_server`` serves ``create_app`` on the parametrised ``db``
(SQLite and PostgreSQL). Clients are plain httpx against the real socket, so middleware,
lifespan and error handlers run exactly as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from platebind.api.server import serve_in_thread


@dataclass(frozen=True)
class LiveServer:
    app: FastAPI
    base_url: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10.0)


@contextmanager
def serve(app: FastAPI) -> Iterator[LiveServer]:
    """Serve ``app`` until the block ends; lifespan start-up and shut-down included."""
    with serve_in_thread(app) as base_url:
        yield LiveServer(app, base_url)


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
