"""``platebind portal …``: the portal's batch work, for cron or by hand."""

from __future__ import annotations

import typer

from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    command_clock,
    emit,
    open_database,
    refusals,
    resolve_database_url,
)
from platebind.config import Settings
from platebind.db import make_session_factory
from platebind.portal import tasks

portal_app = typer.Typer(
    help="The citizens' portal: notices and housekeeping.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(portal_app, name="portal")


@portal_app.command("notify")
def notify(at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """Deliver the notices whose change has taken effect and send their e-mails (SMTP from
    PLATEBIND_SMTP_*; without it e-mails wait in the outbox)."""
    url = resolve_database_url(database_url)
    with refusals(as_json), open_database(url) as engine:
        run = tasks.run_notices(make_session_factory(engine), command_clock(at), Settings())
    emit(
        run.as_dict(),
        as_json,
        lambda d: (
            f"{d['notices']} notices delivered, {d['emails_sent']} e-mails sent, "
            f"{d['emails_waiting']} waiting"
        ),
    )


@portal_app.command("purge")
def purge(at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """Delete expired portal sessions and old rate-limit counters."""
    url = resolve_database_url(database_url)
    with refusals(as_json), open_database(url) as engine:
        run = tasks.purge(make_session_factory(engine), command_clock(at))
    emit(
        run.as_dict(),
        as_json,
        lambda d: f"{d['sessions']} expired sessions and {d['rate_counters']} counters deleted",
    )
