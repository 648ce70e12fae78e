"""``platebind roadside key|rules|segment|import``: wardens' keys, each scope's rules, street
segments and their tariffs, and bill files. Thin: parse, call one service, render."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from tqdm import tqdm

from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    IdArgument,
    command_clock,
    emit,
    open_session,
    table,
)
from platebind.registry.cli_shared import KeyIdOption, admin_actor, revoke_keys_command
from platebind.roadside import importer, service, settlement
from platebind.roadside.errors import RoadsideFileInvalid

roadside_app = typer.Typer(help="Roadside parking: bills, rules, segments.", no_args_is_help=True)
segment_app = typer.Typer(help="Street segments and their tariffs.", no_args_is_help=True)
roadside_app.add_typer(segment_app, name="segment")

ScopeArgument = Annotated[str, typer.Argument(metavar="SCOPE")]
Days = Annotated[int | None, typer.Option(min=1, max=90)]
Twd = Annotated[int | None, typer.Option(min=0, help="TWD.")]


def register(app: typer.Typer) -> None:
    # Commands here may settle roadside charges (``cycle run`` expires them): the handler too.
    settlement.install()
    app.add_typer(roadside_app, name="roadside")


@roadside_app.command("key")
def key(
    warden_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """Issue an API key for a warden's handheld or a smart meter (shown only once)."""
    with open_session(database_url, as_json) as session:
        api_key = service.issue_warden_key(session, command_clock(at), admin_actor(), warden_id)
    doc = {"warden": warden_id, "api_key": api_key}
    emit(doc, as_json, lambda d: f"API key for {d['warden']} (shown only once):\n{d['api_key']}")


@roadside_app.command("key-revoke")
def key_revoke(
    warden_id: IdArgument,
    key_id: KeyIdOption = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a warden's or meter's keys (or one, --key-id); they stop working at once."""
    revoke_keys_command(service.WARDEN_KEY, warden_id, key_id, at, as_json, database_url)


@roadside_app.command("rules")
def rules(
    scope: ScopeArgument,
    due_days: Days = None,
    notice_days: Days = None,
    surcharge: Twd = None,
    motorcycle_per_entry: Twd = None,
    day_boundary: Annotated[
        str | None, typer.Option(metavar="HH:MM", help="When a motorcycle's billing day starts.")
    ] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the scope's roadside rules; with options, change those (for bills issued from
    now on)."""
    changes: dict[str, Any] = {
        name: value
        for name, value in {
            "due_days": due_days,
            "notice_days": notice_days,
            "surcharge": surcharge,
            "motorcycle_per_entry": motorcycle_per_entry,
            "day_boundary": day_boundary,
        }.items()
        if value is not None
    }
    with open_session(database_url, as_json, read_only=not changes) as session:
        if changes:
            now = command_clock(at).now()
            current = service.set_rules(session, now, admin_actor(), scope, changes)
        else:
            current = service.get_rules(session, scope)
    doc = service.rules_out(scope, current).model_dump(mode="json")
    emit(doc, as_json, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))


@segment_app.command("add")
def segment_add(
    segment_id: IdArgument,
    scope: Annotated[str, typer.Option("--scope", help="The roadside scope.")],
    name: Annotated[str, typer.Option("--name", help="e.g. 忠孝東路四段.")],
    tariff: Annotated[
        str, typer.Option("--tariff", help="The tariff text, as the city states it.")
    ],
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a street segment; refused unless its car tariff reads in full."""
    with open_session(database_url, as_json) as session:
        segment = service.add_segment(
            session,
            command_clock(at).now(),
            admin_actor(),
            segment_id=segment_id,
            scope_id=scope,
            name=name,
            payex=tariff,
        )
        doc = service.segment_out(segment).model_dump(mode="json")
    emit(doc, as_json, lambda d: f"added segment {d['id']} {d['name']} in {d['scope']}")


@segment_app.command("list")
def segment_list(
    scope: Annotated[str | None, typer.Option("--scope", help="Only this scope's.")] = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The street segments and their tariff texts."""
    with open_session(database_url, as_json, read_only=True) as session:
        doc = [
            service.segment_out(s).model_dump(mode="json")
            for s in service.list_segments(session, scope)
        ]
    rows = [(d["id"], d["scope"], d["name"], d["payex"]) for d in doc]
    emit(doc, as_json, lambda _: table(("id", "scope", "name", "tariff"), rows))


BillFile = Annotated[
    Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True)
]


@roadside_app.command("import")
def import_(
    file: BillFile,
    partial: Annotated[
        bool, typer.Option("--partial", help="Import the good lines; list the refused ones.")
    ] = False,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a CSV of bills (bill_no, vehicle_type, plate, segment, started_at, ended_at,
    amount, issued_at, due_at): all or nothing unless --partial."""
    now = command_clock(at).now()
    bar = tqdm(total=_lines(file), unit="bill", file=sys.stderr, disable=True if as_json else None)
    with bar, _listing_errors(as_json), open_session(database_url, as_json) as session:
        summary = importer.import_bills(
            session,
            now,
            admin_actor(),
            importer.read_lines(file),
            partial=partial,
            progress=bar.update,
        )
    emit(summary.as_dict(), as_json, _summary_text)


def _lines(file: Path) -> int:
    """The file's lines less its header, for the progress bar (read in 1 MiB blocks)."""
    with file.open("rb") as handle:
        return max(
            sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 0
        )


@contextmanager
def _listing_errors(as_json: bool) -> Iterator[None]:
    """Without ``--json``, list each refused line on stderr after the refusal."""
    try:
        yield
    except typer.Exit as exit_:
        cause = exit_.__cause__
        if not as_json and isinstance(cause, RoadsideFileInvalid):
            for error in cause.extra.get("errors", []):
                typer.echo(_rejected_line(error), err=True)
        raise


def _rejected_line(error: dict[str, Any]) -> str:
    return f"  line {error['line']}: {error['bill_no']}: {error['code']}: {error['reason']}"


def _summary_text(doc: dict[str, Any]) -> str:
    lines = [
        f"{doc['rows']} lines: {doc['imported']} bills imported ({doc['voided']} void, "
        f"{doc['auto_paid']} sent for auto-pay), {doc['duplicates']} already issued, "
        f"{len(doc['rejected'])} refused"
    ]
    return "\n".join([*lines, *(_rejected_line(e) for e in doc["rejected"])])
