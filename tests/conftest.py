"""One database fixture for every test: real SQLite and real PostgreSQL, schema by Alembic.

PostgreSQL tests are skipped only on a developer machine without PostgreSQL; with CI=true an
unreachable PostgreSQL fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from platebind.clock import FixedClock
from platebind.db import make_engine, make_session_factory, transaction, upgrade
from platebind.registry.audit import Actor

if TYPE_CHECKING:
    from tests.api.conftest import LiveServer

PG_ADMIN_URL = os.environ.get(
    "PLATEBIND_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADMIN = Actor("admin", "test")
# A Thursday, 10:00 Taipei time.
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    problem = _pg_reachable()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required when CI=true and is unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"platebind_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(PG_ADMIN_URL, name)
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@dataclass
class Db:
    """A migrated database for one test, with a clock the test moves."""

    url: str
    engine: Engine
    factory: sessionmaker[Session]
    clock: FixedClock

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def tx(self) -> AbstractContextManager[Session]:
        return transaction(self.factory)


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename != 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        path = tmp_path / "platebind.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    try:
        yield Db(url, engine, make_session_factory(engine), FixedClock(T0))
    finally:
        if engine.dialect.name == "postgresql":
            _truncate_all(engine)
        engine.dispose()


@contextmanager
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[Db]:
    """A migrated database of the fixture's dialect (``request.param``) for a module-scoped
    fixture (one server and seed shared by many generated tests); PostgreSQL's tables are
    emptied at the end."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp(name) / "platebind.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    try:
        yield Db(url, engine, make_session_factory(engine), FixedClock(T0))
    finally:
        if engine.dialect.name == "postgresql":
            _truncate_all(engine)
        engine.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Db]:
    """PostgreSQL only (concurrency tests)."""
    engine = make_engine(pg_url, pool_size=40, max_overflow=10)
    try:
        yield Db(pg_url, engine, make_session_factory(engine), FixedClock(T0))
    finally:
        _truncate_all(engine)
        engine.dispose()


Tx = Callable[[], AbstractContextManager[Session]]


@pytest.fixture
def live_server(db: Db) -> Iterator[LiveServer]:
    """The real app on the test's database (SQLite and PostgreSQL), on the test's clock."""
    from platebind.api.app import create_app
    from tests.api.conftest import serve

    with serve(create_app(db.url, clock=db.clock)) as server:
        yield server
