"""``platebind statements export`` and ``platebind charges list|correct``: the authority's
side of billing. Thin: parse, call one service, render."""

from __future__ import annotations

import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from tqdm import tqdm

from platebind.billing import charges, repository, statements
from platebind.billing.schemas import ChargeOut
from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    command_clock,
    emit,
    open_session,
    parse_day,
    table,
    when,
)
from platebind.errors import InvalidInput
from platebind.registry import agents
from platebind.registry.cli_shared import admin_actor

statements_app = typer.Typer(help="Settlement statements of agents.", no_args_is_help=True)
charges_app = typer.Typer(help="Charges to agents.", no_args_is_help=True)

Day = Annotated[date, typer.Argument(metavar="DATE", parser=parse_day, help="YYYY-MM-DD.")]
Directory = Annotated[
    Path, typer.Option("--dir", file_okay=False, help="Where to write the files (created).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(statements_app, name="statements")
    app.add_typer(charges_app, name="charges")


@statements_app.command("export")
def export(
    day: Day,
    directory: Directory,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Write every agent's statement of a Taipei day as CSV, <agent>-<DATE>.csv (only once
    the day is over: a statement never changes after that)."""
    clock = command_clock(at)
    bar = tqdm(unit="line", file=sys.stderr, disable=True if as_json else None)
    with bar, open_session(database_url, as_json, read_only=True) as session:
        files = statements.export_day(
            session,
            clock.now(),
            day,
            directory,
            on_total=lambda total: bar.reset(total=total),
            on_lines=bar.update,
        )
    doc = {
        "date": day.isoformat(),
        "dir": str(directory),
        "lines": sum(f.lines for f in files),
        "files": [{"agent": f.agent_id, "path": str(f.path), "lines": f.lines} for f in files],
    }
    emit(doc, as_json, _export_text)


def _export_text(doc: dict[str, Any]) -> str:
    rows = [(f["agent"], f["lines"], f["path"]) for f in doc["files"]]
    summary = f"{len(rows)} statements of {doc['date']}, {doc['lines']} lines, in {doc['dir']}"
    return table(("agent", "lines", "file"), rows) + "\n" + summary


@charges_app.command("list")
def list_charges(
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="requested, paid or declined.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=repository.MAX_PAGE)] = 50,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The latest charges, newest first (corrections included)."""
    with open_session(database_url, as_json, read_only=True) as session:
        if agent is not None:
            agents.get_agent(session, agent)
        rows, _ = repository.list_charges(
            session, agent_id=agent, status=status, limit=limit, newest_first=True
        )
        doc = [ChargeOut.of(c).model_dump(mode="json") for c in rows]
    emit(doc, as_json, _charges_text)


def _charges_text(doc: list[dict[str, Any]]) -> str:
    rows = [
        (
            c["id"][:8],
            c["agent"],
            c["status"] if c["corrects_charge_id"] is None else "correction",
            c["amount"],
            c["plate"],
            c["place"],
            when(c["requested_at"]),
            when(c["settled_at"]),
            c["reference"] or c["reason"],
        )
        for c in doc
    ]
    headers = ("id", "agent", "status", "TWD", "plate", "place", "requested", "settled", "note")
    return table(headers, rows) + f"\n{len(doc)} charges"


@charges_app.command("correct")
def correct(
    charge_id: Annotated[str, typer.Argument(metavar="ID", help="The paid charge's id.")],
    amount: Annotated[
        int, typer.Option("--amount", help="Negative: what is credited back, e.g. -30.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (told to the agent).")],
    reference: Annotated[str | None, typer.Option("--reference")] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Correct a paid charge with a new negative charge; its agent is told by webhook."""
    clock = command_clock(at)
    with open_session(database_url, as_json) as session:
        try:
            original = uuid.UUID(charge_id)
        except ValueError as exc:
            raise InvalidInput(f"{charge_id!r} is not a charge id", field="id") from exc
        correction = charges.correct(
            session,
            clock.now(),
            admin_actor(),
            charge_id=original,
            amount=amount,
            reason=reason,
            reference=reference,
        )
        doc = ChargeOut.of(correction).model_dump(mode="json")
    emit(doc, as_json, lambda d: f"correction {d['id']}: {d['amount']} TWD to {d['agent']}")
