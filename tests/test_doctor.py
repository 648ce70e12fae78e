"""``platebind doctor`` on real SQLite and PostgreSQL databases, through the CLI: a healthy
deployment passes, and each misconfiguration is named with its fix."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from platebind.db import make_engine, upgrade
from tests.cli_helpers import Cli, build_cli_world
from tests.conftest import PG_ADMIN_URL, Db, _with_database
from tests.vehicles.extracts import ALICE

# Random-looking, long enough, no placeholder fragment (fixed: tests are deterministic).
GOOD_KEY = "q3JvT9xWm2LcZr8HfB6yNd4KsAp7Ue1Vg5Ot0Ri"
PORTAL_URL = "https://parking.gov.taipei"
# A Thursday, 10:00 Taipei time, as the other CLI tests.
T = "2026-11-26T10:00"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Sink:
    """Accepts every message (the doctor never sends one; it only says EHLO)."""

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    controller = Controller(_Sink(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def healthy_env(monkeypatch: pytest.MonkeyPatch, smtp_port: int) -> pytest.MonkeyPatch:
    """A production configuration: a real key, Secure cookies, an HTTPS portal, a real SMTP
    server that answers. Tests change one thing each."""
    for name in list(os.environ):
        if name.startswith("PLATEBIND_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PLATEBIND_ID_HASH_KEY", GOOD_KEY)
    monkeypatch.setenv("PLATEBIND_PORTAL_BASE_URL", PORTAL_URL)
    monkeypatch.setenv("PLATEBIND_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PLATEBIND_SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("PLATEBIND_SMTP_FROM", "北市停車 <no-reply@parking.gov.taipei>")
    return monkeypatch


@pytest.fixture
def cli(db: Db, tmp_path: Path, healthy_env: pytest.MonkeyPatch) -> Cli:
    """A migrated database with scope tpe-lots and agents cmj and pi."""
    url = f"sqlite:///{tmp_path / 'doctor.db'}" if db.dialect == "sqlite" else db.url
    cli = Cli(url)
    cli.json("db", "upgrade")
    build_cli_world(cli)
    return cli


def doctor(cli: Cli, *args: str, at: str, exit_code: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = cli.json("doctor", *args, at=at, exit_code=exit_code)
    assert doc["ok"] is (exit_code == 0)
    return doc


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["status"] for c in doc["checks"]}


def finding(doc: dict[str, Any], check: str) -> dict[str, Any]:
    (found,) = [c for c in doc["checks"] if c["check"] == check]
    return found


# ---------------------------------------------------------------------------------------------
# A healthy deployment


def test_a_healthy_deployment_passes_every_check(cli: Cli, db: Db) -> None:
    cli.json("cycle", "run", at=T)
    doc = doctor(cli, at="2026-11-26T11:00")
    expected = {
        "database": "ok",
        "database_kind": "ok" if db.dialect == "postgresql" else "warn",
        "schema": "ok",
        "worker": "ok",
        "daily_cycle": "ok",
        "id_hash_key_match": "ok",
        "id_hash_key": "ok",
        "portal_cookies": "ok",
        "portal_base_url": "ok",
        "smtp": "ok",
    }
    if db.dialect == "postgresql":
        expected["connections"] = "ok"
    assert statuses(doc) == expected
    assert doc["counts"]["fail"] == 0
    assert "PostgreSQL" in finding(doc, "database")["message"] or db.dialect == "sqlite"
    assert "no-reply@parking.gov.taipei" in finding(doc, "smtp")["message"]


def test_the_human_report_names_each_check_and_its_fix(
    cli: Cli, healthy_env: pytest.MonkeyPatch
) -> None:
    healthy_env.setenv("PLATEBIND_PORTAL_SECURE_COOKIES", "false")
    result = cli.run("doctor", at=T)
    assert result.exit_code == 1, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("platebind doctor: ")
    start = next(i for i, line in enumerate(lines) if line.startswith("fail  portal_cookies"))
    # The check's paragraph: its wrapped message, then its fix, indented under the message.
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    paragraph = " ".join(line.strip() for line in lines[start:end])
    assert "session cookies also travel over plain HTTP fix: remove" in paragraph
    assert any(line.startswith("ok    schema") for line in lines)
    assert lines[-1].endswith("1 failed")


# ---------------------------------------------------------------------------------------------
# The database


def test_an_unmigrated_database_lists_its_pending_migrations(
    db: Db, tmp_path: Path, healthy_env: pytest.MonkeyPatch
) -> None:
    with _old_schema(db, tmp_path, "0007") as url:
        cli = Cli(url)
        doc = doctor(cli, at=T, exit_code=1)
        schema = finding(doc, "schema")
        assert schema["status"] == "fail"
        assert "is at revision 0007" in schema["message"]
        assert "3 migration(s) pending: 0008 (roadside bills" in schema["message"]
        assert "0009 (bill reminders)" in schema["message"]
        assert "0010 (key fingerprints)" in schema["message"]
        assert schema["fix"].startswith("run `platebind db upgrade`")
        # The state checks need the tables of the latest schema: not run on an old one.
        assert "worker" not in statuses(doc)
        assert "daily_cycle" not in statuses(doc)

        cli.json("db", "upgrade")
        assert finding(doctor(cli, at=T), "schema")["status"] == "ok"


@contextmanager
def _old_schema(db: Db, tmp_path: Path, revision: str) -> Iterator[str]:
    """A fresh database of the test's kind, migrated only up to ``revision``."""
    if db.dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        upgrade(url, revision)
        yield url
        return
    name = f"platebind_doctor_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _with_database(PG_ADMIN_URL, name)
        upgrade(url, revision)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_upgraded_by_a_newer_version_is_named(cli: Cli) -> None:
    """During a rolling upgrade the old code meets the new schema: said, not a traceback."""
    engine = make_engine(cli.url)
    try:
        with engine.begin() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        schema = finding(doctor(cli, at=T, exit_code=1), "schema")
    finally:
        # The PostgreSQL test database is shared by the session (only its rows are reset).
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        engine.dispose()
    assert schema["status"] == "fail"
    assert "at revision 0099, which this platebind does not know" in schema["message"]


@pytest.mark.usefixtures("healthy_env")
def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, but a file someone pointed the URL at\n" * 100)
    doc = doctor(Cli(f"sqlite:///{path}"), at=T, exit_code=1)
    failed = [c for c in doc["checks"] if c["status"] == "fail"]
    assert [c["check"] for c in failed] == ["database"]
    assert "file is not a database" in failed[0]["message"]


@pytest.mark.usefixtures("healthy_env")
def test_an_unreachable_database_url_is_named_and_nothing_else_is_tried() -> None:
    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/platebind"
    doc = doctor(Cli(url), at=T, exit_code=1)
    database = finding(doc, "database")
    assert database["status"] == "fail"
    assert database["message"].startswith(f"cannot connect to {url}")
    assert "Connection refused" in database["message"]
    assert "schema" not in statuses(doc)
    # The settings are still checked: one run shows everything there is to fix.
    assert statuses(doc)["id_hash_key"] == "ok"


@pytest.mark.usefixtures("healthy_env")
def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    doc = doctor(Cli(f"sqlite:///{path}"), at=T, exit_code=1)
    assert finding(doc, "database") == {
        "check": "database",
        "status": "fail",
        "message": f"no SQLite database at {path}",
        "fix": "check PLATEBIND_DATABASE_URL; `platebind db upgrade` creates a new database",
    }
    assert not path.exists()


@pytest.mark.postgres
def test_server_processes_that_would_exhaust_max_connections_are_warned(
    pg_url: str, healthy_env: pytest.MonkeyPatch
) -> None:
    cli = Cli(pg_url)
    with psycopg.connect(PG_ADMIN_URL) as conn:
        limit = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
    # 30 connections a process (pool 10 + overflow 20): one process too many is named.
    too_many = str(limit // 30 + 1)
    warned = finding(doctor(cli, "--processes", too_many, at=T), "connections")
    assert warned["status"] == "warn"
    assert f"{too_many} server processes may need" in warned["message"]
    assert "max_connections" in warned["fix"]
    assert finding(doctor(cli, "--processes", "2", at=T), "connections")["status"] == "ok"


# ---------------------------------------------------------------------------------------------
# Settings


def test_a_setting_that_does_not_parse_is_named_without_a_traceback(
    cli: Cli, healthy_env: pytest.MonkeyPatch
) -> None:
    healthy_env.setenv("PLATEBIND_SMTP_PORT", "twenty-five")
    result = cli.run("doctor", at=T)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the PLATEBIND_* settings are invalid")
    assert "smtp_port" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("key", "named"),
    [
        (None, "PLATEBIND_ID_HASH_KEY is not set"),
        ("changeme-changeme-changeme-changeme-2026", "is a placeholder value"),
        ("r4nd0m-but-short", "is shorter than 32 characters"),
    ],
    ids=["missing", "placeholder", "short"],
)
def test_an_unsafe_id_hash_key_fails(
    cli: Cli, healthy_env: pytest.MonkeyPatch, key: str | None, named: str
) -> None:
    if key is None:
        healthy_env.delenv("PLATEBIND_ID_HASH_KEY")
    else:
        healthy_env.setenv("PLATEBIND_ID_HASH_KEY", key)
    doc = doctor(cli, at=T, exit_code=1)
    check = finding(doc, "id_hash_key")
    assert check["status"] == "fail"
    assert named in check["message"]
    assert key is None or key not in check["message"]  # a secret is never printed
    assert doc["counts"]["fail"] == 1


def test_insecure_cookies_and_a_plain_http_portal_fail(
    cli: Cli, healthy_env: pytest.MonkeyPatch
) -> None:
    healthy_env.setenv("PLATEBIND_PORTAL_SECURE_COOKIES", "false")
    healthy_env.setenv("PLATEBIND_PORTAL_BASE_URL", "http://parking.gov.taipei")
    doc = doctor(cli, at=T, exit_code=1)
    assert statuses(doc)["portal_cookies"] == "fail"
    base = finding(doc, "portal_base_url")
    assert base["status"] == "fail"
    assert "http://parking.gov.taipei" in base["message"]
    assert doc["counts"]["fail"] == 2


def test_the_default_loopback_portal_url_fails(cli: Cli, healthy_env: pytest.MonkeyPatch) -> None:
    healthy_env.delenv("PLATEBIND_PORTAL_BASE_URL")
    assert statuses(doctor(cli, at=T, exit_code=1))["portal_base_url"] == "fail"


def test_no_smtp_server_is_a_warning_and_one_that_does_not_answer_fails(
    cli: Cli, healthy_env: pytest.MonkeyPatch
) -> None:
    healthy_env.delenv("PLATEBIND_SMTP_HOST")
    unset = finding(doctor(cli, at=T), "smtp")
    assert unset["status"] == "warn"
    assert "stay in the outbox" in unset["message"]

    healthy_env.setenv("PLATEBIND_SMTP_HOST", "127.0.0.1")
    healthy_env.setenv("PLATEBIND_SMTP_PORT", str(_free_port()))
    silent = finding(doctor(cli, at=T, exit_code=1), "smtp")
    assert silent["status"] == "fail"
    assert "does not answer" in silent["message"]


def test_starttls_required_but_not_offered_fails(cli: Cli, healthy_env: pytest.MonkeyPatch) -> None:
    healthy_env.setenv("PLATEBIND_SMTP_STARTTLS", "true")
    check = finding(doctor(cli, at=T, exit_code=1), "smtp")
    assert check["status"] == "fail"
    assert "does not offer STARTTLS" in check["message"]


# ---------------------------------------------------------------------------------------------
# The worker and the daily cycle


def test_webhooks_due_long_ago_and_unsent_warn_that_no_worker_runs(cli: Cli) -> None:
    cli.json("cycle", "run", at=T)
    cli.json("agent", "webhook", "set", "cmj", "https://cmj.example.tw/hooks", at=T)
    cli.bind("cmj", at=T)  # binding.scheduled, due at once
    assert finding(doctor(cli, at="2026-11-26T10:14"), "worker")["status"] == "ok"

    late = finding(doctor(cli, at="2026-11-26T10:16"), "worker")
    assert late["status"] == "warn"
    assert late["message"].startswith("1 webhook event(s), due since 2026/11/26 10:00")
    assert "`platebind worker`" in late["fix"]


def test_events_of_an_agent_without_an_endpoint_are_not_blamed_on_the_worker(cli: Cli) -> None:
    cli.json("cycle", "run", at=T)
    cli.bind("cmj", at=T)  # cmj has no endpoint: the event waits for one, not for a worker
    assert finding(doctor(cli, at="2026-11-27T09:00"), "worker")["status"] == "ok"


def test_a_daily_cycle_older_than_26_hours_warns(cli: Cli) -> None:
    never = finding(doctor(cli, at=T), "daily_cycle")
    assert never["status"] == "warn"
    assert "tpe-lots never" in never["message"]

    cli.json("cycle", "run", at=T)
    recent = finding(doctor(cli, at="2026-11-27T11:59"), "daily_cycle")
    assert recent["status"] == "ok"
    assert "last 2026/11/26 10:00" in recent["message"]

    stale = finding(doctor(cli, at="2026-11-27T12:01"), "daily_cycle")
    assert stale["status"] == "warn"
    assert "tpe-lots since 2026/11/26 10:00" in stale["message"]
    assert "`platebind cycle run`" in stale["fix"]


def test_a_key_other_than_the_one_the_hashes_were_made_with_fails(
    cli: Cli, healthy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert finding(doctor(cli, at=T), "id_hash_key_match")["status"] == "ok"  # none yet
    extract = tmp_path / "extract.csv"
    extract.write_text(f"vehicle_type,plate,owner_id\ncar,ABC-1234,{ALICE}\n")
    cli.json("vehicles", "import", str(extract))
    assert finding(doctor(cli, at=T), "id_hash_key_match")["status"] == "ok"
    other = "another-random-key-that-is-long-enough-7d1e"
    healthy_env.setenv("PLATEBIND_ID_HASH_KEY", other)
    doc = doctor(cli, at=T, exit_code=1)
    check = finding(doc, "id_hash_key_match")
    assert check["status"] == "fail"
    assert "set PLATEBIND_ID_HASH_KEY back" in check["fix"]
    assert other not in json.dumps(doc)
