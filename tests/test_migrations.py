"""The Alembic chain is the schema: autogenerate against a migrated database finds nothing, and
the chain downgrades and upgrades cleanly, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from platebind.db import Base, alembic_config, make_engine, upgrade
from platebind.models import import_all_models
from tests.conftest import Db


def test_models_and_migrations_agree(db: Db) -> None:
    import_all_models()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_interval_guard_exists(db: Db) -> None:
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            found = conn.scalar(
                text("SELECT count(*) FROM pg_constraint WHERE conname = 'ex_bindings_no_overlap'")
            )
            assert found == 1
        else:
            found = conn.scalar(
                text(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                    "AND name LIKE 'tr_bindings_no_overlap_%'"
                )
            )
            assert found == 2


def test_chain_downgrades_to_nothing_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/chain.db"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    assert "bindings" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
    engine.dispose()
