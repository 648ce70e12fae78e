"""The ``platebind`` command line: the authority's tool. Thin: parse, call one service, render.

Exit status: 0 done; 1 refused (a ``DomainError``: with ``--json`` its ``{code, title, detail,
...}`` on stdout, otherwise ``error: <detail>`` on stderr); 2 malformed command line (Typer's
usage error on stderr: unknown option or vehicle type, a time that is not ISO-8601, a cut-over
that is not HH:MM). Malformed means "not the right shape"; a well-formed value the registry
refuses (an unreadable plate, an unknown scope) is a refusal.

This module holds the root app, the database and server commands; each feature adds its own
commands from its ``cli.py``; the shared plumbing is in ``cli_support``.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated, Any

import typer
from tqdm import tqdm

from platebind import daily
from platebind.billing import cli as billing_cli
from platebind.billing import tasks as billing_tasks
from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    Host,
    Port,
    command_clock,
    emit,
    key_value_lines,
    open_database,
    refusals,
    resolve_database_url,
    schema_revision,
    shown_url,
)
from platebind.db import upgrade as upgrade_schema
from platebind.doctor import cli as doctor_cli
from platebind.parking import cli as parking_cli
from platebind.portal import cli as portal_cli
from platebind.registry import cli as registry_cli
from platebind.registry.cli_admin import agent_app
from platebind.roadside import cli as roadside_cli
from platebind.roadside import tasks as roadside_tasks
from platebind.simulation import cli as simulation_cli
from platebind.tariffs import cli as tariffs_cli
from platebind.vehicles import cli as vehicles_cli
from platebind.webhooks import cli as webhooks_cli

DEMO_DATABASE_URL = "sqlite:///./platebind-demo.db"

# Tracebacks with locals would print API keys and database passwords.
app = typer.Typer(
    help="platebind: plate-binding registry for card-free parking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
# Before ``serve`` and ``demo`` below: ``--help`` lists commands in the order they are added.
registry_cli.register(app)
webhooks_cli.register(agent_app)
vehicles_cli.register(app)
portal_cli.register(app)
parking_cli.register(app)
tariffs_cli.register(app)
billing_cli.register(app)
daily.register("billing", lambda session, now: billing_tasks.run_daily(session, now).as_dict())
roadside_cli.register(app)
daily.register("roadside", lambda session, now: roadside_tasks.run_daily(session, now).as_dict())
simulation_cli.register(app)
doctor_cli.register(app)


@db_app.command("upgrade")
def db_upgrade(as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the schema (alembic upgrade head); safe to run again."""
    url = resolve_database_url(database_url)
    with refusals(as_json), open_database(url, check_schema=False) as engine:
        before = schema_revision(engine)
        upgrade_schema(url)
        after = schema_revision(engine)
    doc = {"database": shown_url(url), "from": before, "to": after, "changed": before != after}

    def text(d: dict[str, Any]) -> str:
        if not d["changed"]:
            return f"{d['database']} is already at revision {d['to']}; nothing to do"
        return f"upgraded {d['database']} from {d['from'] or 'an empty database'} to {d['to']}"

    emit(doc, as_json, text)


# ---------------------------------------------------------------------------------------------
# Server and demo


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="No background worker in this process.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the API server; it also delivers webhooks unless --no-worker."""
    from platebind.api.server import run_server

    url = resolve_database_url(database_url)
    run_server(
        database_url=url, host=host, port=port, workers=workers, webhook_worker=not no_worker
    )


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Send one batch of due events, then exit.")
    ] = False,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Deliver webhooks and portal notices until SIGTERM or CTRL-C (serve does it too,
    unless --no-worker)."""
    from platebind.api.middleware import configure_logging
    from platebind.portal.tasks import background_notices
    from platebind.webhooks.worker import run_worker

    configure_logging()
    url = resolve_database_url(database_url)
    with refusals(as_json), open_database(url) as engine:
        if once:
            attempted = run_worker(engine, once=True)
        else:
            with background_notices(url):
                attempted = run_worker(engine)
    if once:
        emit({"attempted": attempted}, as_json, lambda d: f"attempted {d['attempted']} deliveries")


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build the world, do not serve.")
    ] = False,
    no_traffic: Annotated[
        bool, typer.Option("--no-traffic", help="No lots and no simulated day of traffic.")
    ] = False,
    at: At = None,
    as_json: AsJson = False,
    # Not $DATABASE_URL: the demo deletes and rebuilds a SQLite file, never the real registry.
    database_url: Annotated[str, typer.Option("--database-url")] = DEMO_DATABASE_URL,
) -> None:
    """Build a demo world (scopes, agents, bindings, a portal member) and serve it."""
    from platebind.api.server import run_server
    from platebind.demo import build_demo_world

    id_hash_key = _demo_server_environment()
    bar = tqdm(unit="event", desc="a day of gate traffic", disable=as_json or no_traffic)
    with refusals(as_json), bar:
        world = build_demo_world(
            database_url,
            now=command_clock(at).now(),
            id_hash_key=id_hash_key,
            traffic=not no_traffic,
            on_traffic=bar.update,
        )
    emit(world.as_dict(), as_json, key_value_lines)
    if not no_serve:
        run_server(database_url=database_url, host=host, port=port, workers=1)


def _demo_server_environment() -> str:
    """The demo serves plain HTTP on this machine: no Secure cookies, and an ID hash key made
    up for this run unless one is set (the demo database is rebuilt every time)."""
    os.environ.setdefault("PLATEBIND_PORTAL_SECURE_COOKIES", "false")
    return os.environ.setdefault("PLATEBIND_ID_HASH_KEY", secrets.token_urlsafe(32))


def main() -> None:
    app(prog_name="platebind")
