"""``deploy/backup-check.sh`` on a real PostgreSQL database holding the demo world: the dump
restores into a fresh database with every table identical; a changed restored copy is caught;
a database taking writes while it is backed up still compares exactly (one snapshot)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from platebind.db import upgrade
from platebind.demo import build_demo_world
from tests.conftest import PG_ADMIN_URL, _with_database

pytestmark = pytest.mark.postgres

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "backup-check.sh"
KEY = "q3JvT9xWm2LcZr8HfB6yNd4KsAp7Ue1Vg5Ot0Ri"
SCRATCH_PREFIX = "platebind_restore_check_"


@pytest.fixture(scope="module")
def demo_url(pg_url: str) -> Iterator[str]:
    """A database of its own with the demo world (bindings, changes, outbox, audit, a portal
    member): built once, only read by the script (the writer test appends audit rows)."""
    del pg_url  # only for its check that PostgreSQL is there (fails when CI=true otherwise)
    name = f"platebind_backup_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(PG_ADMIN_URL, name)
    try:
        upgrade(url)
        build_demo_world(url, now=datetime(2026, 11, 26, 2, 0, tzinfo=UTC), id_hash_key=KEY)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    for tool in ("pg_dump", "pg_restore", "psql"):
        assert shutil.which(tool), f"{tool} is missing: install postgresql-client"
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False
    )


def scratch_databases() -> list[str]:
    with psycopg.connect(PG_ADMIN_URL) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (SCRATCH_PREFIX + "%",)
        ).fetchall()
    return [row[0] for row in rows]


def lines_of(result: subprocess.CompletedProcess[str], status: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(status + " ")]


def test_the_dump_restores_with_every_table_identical(demo_url: str, tmp_path: Path) -> None:
    before = scratch_databases()
    dump = tmp_path / "platebind.dump"
    # The SQLAlchemy spelling the application's settings use is accepted as it is.
    url = demo_url.replace("postgresql://", "postgresql+psycopg://")
    result = run_check("--dump", str(dump), url)
    assert result.returncode == 0, result.stdout + result.stderr
    tables = [line for line in lines_of(result, "ok") if line.startswith("ok   table ")]
    with psycopg.connect(demo_url) as conn:
        (expected,) = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        (bindings,) = conn.execute("SELECT count(*) FROM bindings").fetchall()
    assert len(tables) == expected[0]
    assert bindings[0] > 100  # a populated world, not empty tables
    assert f"ok   table bindings  {bindings[0]} rows" in tables
    assert "ok   sequence audit_log.id" in result.stdout
    assert lines_of(result, "DIFF") == []
    assert result.stdout.rstrip().endswith(f"identical ({len(lines_of(result, 'ok'))} objects)")
    # The dump is kept (it is the backup) and is a custom-format archive pg_restore can read.
    assert dump.read_bytes()[:5] == b"PGDMP"
    assert scratch_databases() == before  # the scratch database is dropped


def test_a_changed_row_and_a_sequence_behind_in_the_copy_fail_the_check(demo_url: str) -> None:
    before = scratch_databases()
    tamper = (
        "UPDATE bindings SET plate = 'XYZ-9999' WHERE id = (SELECT id FROM bindings "
        "ORDER BY id LIMIT 1); SELECT setval('audit_log_id_seq', 1)"
    )
    result = run_check("--tamper-sql", tamper, demo_url)
    assert result.returncode == 1, result.stdout + result.stderr
    differ = lines_of(result, "DIFF")
    assert len(differ) == 2, result.stdout
    rows = next(line for line in differ if "table bindings" in line)
    # The same number of rows: only the checksum saw the changed plate.
    count = rows.split("source ")[1].split(" rows")[0]
    assert f"restored {count} rows" in rows
    assert "DIFF sequence audit_log.id  source ok, restored behind" in differ
    assert "FAILED: 2 of" in result.stdout
    assert scratch_databases() == before


def test_a_deleted_row_is_caught_by_the_row_count(demo_url: str) -> None:
    result = run_check(
        "--tamper-sql",
        "DELETE FROM transfer_codes WHERE id = (SELECT id FROM transfer_codes LIMIT 1)",
        demo_url,
    )
    assert result.returncode == 1
    (differ,) = lines_of(result, "DIFF")
    assert differ.startswith("DIFF table transfer_codes  source ")


def test_writes_during_the_backup_do_not_make_it_differ(demo_url: str) -> None:
    """The dump and the source's checksums share one snapshot, so rows written meanwhile are
    in neither (they go into the next backup)."""
    stop = threading.Event()
    written = 0

    def write() -> None:
        nonlocal written
        with psycopg.connect(demo_url, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO audit_log (at, actor_type, action, detail, created_at) "
                    "VALUES (now(), 'system', 'test.write', '{}', now())"
                )
                written += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        result = run_check(demo_url)
    finally:
        stop.set()
        writer.join()
    assert written > 0
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_of(result, "DIFF") == []


def test_a_url_that_is_not_postgresql_is_refused() -> None:
    result = run_check("sqlite:///platebind.db")
    assert result.returncode == 2
    assert "give a postgresql:// URL" in result.stderr
