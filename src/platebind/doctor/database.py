"""Checks of the database: reachable, PostgreSQL, at Alembic's head; then, on a schema at the
head, the state the background jobs leave (the outbox, the daily cycle) and the connection
budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import func, make_url, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from platebind.cli_support import shown_url, when
from platebind.config import Settings
from platebind.db import alembic_config, make_engine, normalise_url
from platebind.doctor.findings import Finding, Status, cause_of
from platebind.portal.models import OutgoingEmail
from platebind.registry.models import CycleRun, Scope
from platebind.vehicles.service import (
    IdHashKeyInvalid,
    id_hash_key,
    is_stored_key,
    stored_key_fingerprint,
)
from platebind.webhooks.models import OutboxEvent, WebhookEndpoint

# A claim pushes an event 10 minutes ahead (the dispatcher's lease) and a worker polls every
# second, so an event due for longer than this was claimed by no worker: none runs, or the
# ones that run are far behind.
WORKER_STALE_AFTER = timedelta(minutes=15)
# The cycle runs daily; two hours of slack for a slow run or a timer's randomised delay.
CYCLE_STALE_AFTER = timedelta(hours=26)
# Connections outside the serve processes' pools: one `worker` (about 10: it sends to several
# agents side by side), `cycle run`, this command and a psql session or two.
OTHER_CONNECTIONS = 15


def _missing_sqlite_file(url: str) -> Finding | None:
    """Connecting to a SQLite path that does not exist would create an empty database there."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if Path(parsed.database).is_file():
        return None
    return Finding(
        "database",
        "fail",
        f"no SQLite database at {parsed.database}",
        "check PLATEBIND_DATABASE_URL; `platebind db upgrade` creates a new database",
    )


def check_database(
    url: str, settings: Settings, now: datetime, processes: int | None
) -> list[Finding]:
    missing = _missing_sqlite_file(url)
    if missing is not None:
        return [missing]
    with _engine(url) as engine:
        started = time.perf_counter()
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            return [_unreachable(url, exc)]
        findings = [_reachable(url, time.perf_counter() - started, conn)]
        with conn:
            try:
                findings.append(_kind(conn))
                schema, at_head = _schema(conn, url)
                findings.append(schema)
                if at_head:
                    findings += [_worker(conn, settings, now), _daily_cycle(conn, now)]
                    findings += _id_hash_key_fingerprint(conn, settings)
                if conn.dialect.name == "postgresql":
                    findings.append(_connections(conn, engine, processes))
            except SQLAlchemyError as exc:
                # Connected, but a read failed: a role without rights, a file that is no
                # database. Named, not a traceback; the checks after it are not run.
                findings.append(_query_failed(exc))
    return findings


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        # Deferred on SQLite: the doctor only reads and must not queue behind a writer.
        yield engine.execution_options(sqlite_begin="DEFERRED")
    finally:
        engine.dispose()


def _unreachable(url: str, exc: SQLAlchemyError) -> Finding:
    return Finding(
        "database",
        "fail",
        f"cannot connect to {shown_url(url)}: {cause_of(exc)}",
        "check PLATEBIND_DATABASE_URL, that PostgreSQL runs, and pg_hba.conf for this host",
    )


def _query_failed(exc: SQLAlchemyError) -> Finding:
    return Finding(
        "database_read",
        "fail",
        f"connected, but reading the database failed: {cause_of(exc)}",
        "check that PLATEBIND_DATABASE_URL names platebind's database and its owner role",
    )


def _reachable(url: str, seconds: float, conn: Connection) -> Finding:
    what = "PostgreSQL" if conn.dialect.name == "postgresql" else "SQLite"
    return Finding(
        "database", "ok", f"{what} at {shown_url(url)} answered in {seconds * 1000:.0f} ms"
    )


def _kind(conn: Connection) -> Finding:
    if conn.dialect.name == "postgresql":
        version = conn.execute(text("SHOW server_version")).scalar_one()
        message = f"PostgreSQL {version}: several serve processes may share it"
        return Finding("database_kind", "ok", message)
    return Finding(
        "database_kind",
        "warn",
        "SQLite is for one machine (the demo, a trial): serve processes on "
        "several machines, and a city's load, need PostgreSQL",
        "create a PostgreSQL database and set PLATEBIND_DATABASE_URL (docs/deploy.md)",
    )


def _schema(conn: Connection, url: str) -> tuple[Finding, bool]:
    """The schema's revision against this code's Alembic head; whether it is at the head."""
    current = MigrationContext.configure(conn).get_current_revision()
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    if current == head:
        return Finding("schema", "ok", f"at the latest migration, {head}"), True
    try:
        pending = list(script.iterate_revisions(head, current))
    except (RevisionError, CommandError):
        return Finding(
            "schema",
            "fail",
            f"the database is at revision {current}, which this platebind does not know: a "
            "newer version has upgraded it",
            "run the newer platebind on every machine (docs/deploy.md, upgrading)",
        ), False
    state = "has no schema" if current is None else f"is at revision {current}"
    listed = ", ".join(f"{r.revision} ({r.doc})" for r in reversed(pending))
    return Finding(
        "schema",
        "fail",
        f"the database {state}; {len(pending)} migration(s) pending: {listed}",
        "run `platebind db upgrade` (docs/deploy.md, upgrading)",
    ), False


def _worker(conn: Connection, settings: Settings, now: datetime) -> Finding:
    """Events due long ago and still unsent mean that no worker claims them (a failing receiver
    is not this: a failed attempt moves the event's next attempt into the future)."""
    cutoff = now - WORKER_STALE_AFTER
    webhooks, since = conn.execute(
        select(func.count(), func.min(OutboxEvent.next_attempt_at))
        .select_from(OutboxEvent)
        .join(WebhookEndpoint, WebhookEndpoint.agent_id == OutboxEvent.agent_id)
        .where(OutboxEvent.status == "pending", OutboxEvent.next_attempt_at <= cutoff)
    ).one()
    emails = 0
    if settings.smtp_host:  # without a server, e-mails wait in the outbox by design
        emails = conn.execute(
            select(func.count())
            .select_from(OutgoingEmail)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.next_attempt_at <= cutoff)
        ).scalar_one()
    minutes = int(WORKER_STALE_AFTER.total_seconds() // 60)
    if not webhooks and not emails:
        return Finding("worker", "ok", f"nothing has waited more than {minutes} min to be sent")
    waiting = []
    if webhooks:
        waiting.append(f"{webhooks} webhook event(s), due since {when(since.isoformat())}")
    if emails:
        waiting.append(f"{emails} e-mail(s)")
    return Finding(
        "worker",
        "warn",
        f"{' and '.join(waiting)}, waited more than {minutes} min: no worker is running, "
        "or it cannot keep up",
        "run `platebind worker` (deploy/platebind-worker.service), or `platebind serve` "
        "without --no-worker; if one runs, see its log, or run a second one",
    )


def _daily_cycle(conn: Connection, now: datetime) -> Finding:
    last_runs = conn.execute(
        select(Scope.id, func.max(CycleRun.ran_at))
        .outerjoin(CycleRun, CycleRun.scope_id == Scope.id)
        .group_by(Scope.id)
        .order_by(Scope.id)
    ).all()
    if not last_runs:
        return Finding("daily_cycle", "ok", "no scopes yet: the daily cycle has nothing to do")
    late = [
        f"{scope} {'never' if ran is None else 'since ' + when(ran.isoformat())}"
        for scope, ran in last_runs
        if ran is None or now - ran > CYCLE_STALE_AFTER
    ]
    hours = int(CYCLE_STALE_AFTER.total_seconds() // 3600)
    if late:
        return Finding(
            "daily_cycle",
            "warn",
            f"the daily cycle has not run within {hours} h: {', '.join(late)}",
            "run `platebind cycle run` every day (deploy/platebind-cycle.timer, or the "
            "crontab in deploy/)",
        )
    latest = max(ran for _scope, ran in last_runs)
    return Finding(
        "daily_cycle",
        "ok",
        f"ran within {hours} h for every scope (last {when(latest.isoformat())})",
    )


def _id_hash_key_fingerprint(conn: Connection, settings: Settings) -> list[Finding]:
    """The configured key is the one the stored national-ID hashes were made with."""
    try:
        key = id_hash_key(settings.id_hash_key)
    except IdHashKeyInvalid:
        return []  # the settings check reports it
    stored = stored_key_fingerprint(conn)
    if stored is None:
        return [Finding("id_hash_key_match", "ok", "no national ID has been hashed yet")]
    if not is_stored_key(stored, key):
        return [
            Finding(
                "id_hash_key_match",
                "fail",
                "PLATEBIND_ID_HASH_KEY is not the key this database's national-ID hashes "
                "were made with: no member would match a vehicle, and the next registry import "
                "would end every binding",
                "set PLATEBIND_ID_HASH_KEY back to the original key (docs/deploy.md)",
            )
        ]
    return [Finding("id_hash_key_match", "ok", "the key matches the stored national-ID hashes")]


def _pool_limit(engine: Engine) -> int:
    """The most connections one process's pool opens: its size plus its overflow."""
    pool = engine.pool
    size = getattr(pool, "size", lambda: 1)()
    # QueuePool keeps the overflow limit only in a private attribute.
    overflow = getattr(pool, "_max_overflow", 0)
    return int(size) + max(int(overflow), 0)


def _connections(conn: Connection, engine: Engine, processes: int | None) -> Finding:
    """Every server process has its own pool; together they must fit under max_connections
    (less the superuser reserve), with a few to spare for the worker, the cycle and psql."""
    max_connections = int(conn.execute(text("SHOW max_connections")).scalar_one())
    reserved = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar_one())
    in_use = conn.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
    ).scalar_one()
    per_process = _pool_limit(engine)
    room = max_connections - reserved - OTHER_CONNECTIONS
    limits = (
        f"max_connections {max_connections} ({reserved} reserved, {in_use} in use now); "
        f"each server process opens up to {per_process}"
    )
    fix = (
        "raise max_connections in postgresql.conf (and restart PostgreSQL), or run fewer "
        "server processes (docs/deploy.md, connection limits)"
    )
    if processes is None:
        fit = max(room // per_process, 0)
        status: Status = "ok" if fit >= 2 else "warn"
        message = f"{limits}: room for {fit} server process(es)"
        return Finding("connections", status, message, None if status == "ok" else fix)
    needed = processes * per_process + OTHER_CONNECTIONS
    if needed > max_connections - reserved:
        message = f"{limits}: {processes} server processes may need {needed}"
        return Finding("connections", "warn", message, fix)
    return Finding("connections", "ok", f"{limits}: {processes} server processes fit")
