"""The ``doctor`` command: every check, then the report (readable, or JSON with ``--json``)."""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from platebind.cli_support import AsJson, At, DatabaseUrl, command_clock, emit, shown_url
from platebind.config import Settings
from platebind.doctor.database import check_database
from platebind.doctor.findings import Finding
from platebind.doctor.settings import check_id_hash_key, check_portal, check_smtp

TEXT_WIDTH = 100


def diagnose(
    database_url: str, settings: Settings, now: datetime, *, processes: int | None = None
) -> list[Finding]:
    """Every check, database first."""
    return [
        *check_database(database_url, settings, now, processes),
        check_id_hash_key(settings),
        *check_portal(settings),
        check_smtp(settings),
    ]


def report(database_url: str, findings: list[Finding]) -> dict[str, Any]:
    counts = {
        status: sum(f.status == status for f in findings) for status in ("ok", "warn", "fail")
    }
    return {
        "database": shown_url(database_url),
        "ok": counts["fail"] == 0,
        "counts": counts,
        "checks": [asdict(f) for f in findings],
    }


def _text(doc: dict[str, Any]) -> str:
    """One check a paragraph: status, name, message; the fix under it, wrapped to the text."""
    width = max(len(c["check"]) for c in doc["checks"])
    indent = " " * (6 + width + 2)
    lines = [f"platebind doctor: {doc['database']}", ""]
    for c in doc["checks"]:
        head = f"{c['status']:<5} {c['check']:<{width}}  "
        lines += textwrap.wrap(
            c["message"], TEXT_WIDTH, initial_indent=head, subsequent_indent=indent
        )
        if c["fix"]:
            lines += textwrap.wrap(
                f"fix: {c['fix']}", TEXT_WIDTH, initial_indent=indent, subsequent_indent=indent
            )
    counts = doc["counts"]
    lines += ["", f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed"]
    return "\n".join(lines)


Processes = Annotated[
    int | None,
    typer.Option(
        "--processes",
        min=1,
        help="Server processes sharing the database in all (the sum of every serve's "
        "--workers), for the PostgreSQL connection check.",
    ),
]


def doctor(
    processes: Processes = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Check this deployment's settings and database, and say what to fix.

    Exit 1 if a check failed (warnings do not).
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        # Every other command would stop on this too; say which variable, not a traceback.
        typer.echo(f"error: the PLATEBIND_* settings are invalid: {exc}", err=True)
        raise typer.Exit(1) from None
    url = database_url or settings.database_url
    doc = report(url, diagnose(url, settings, command_clock(at).now(), processes=processes))
    emit(doc, as_json, _text)
    if not doc["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
