"""``platebind lot import-taipei|list|show|key``: the city's lots, their entrances and tariffs,
and the keys their gates post LPR events with."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

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
    refusals,
    table,
)
from platebind.parking import keys, service
from platebind.parking.errors import LotFileInvalid
from platebind.registry.cli_shared import KeyIdOption, admin_actor, revoke_keys_command
from platebind.tariffs.describe import describe_tariff
from platebind.tariffs.model import tariff_from_json

lot_app = typer.Typer(help="Parking lots and their tariffs.", no_args_is_help=True)

FeedFile = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="The city's TCMSV_alldesc.json.",
    ),
]
Scope = Annotated[str, typer.Option("--scope", help="The scope the lots belong to.")]
ScopeFilter = Annotated[str | None, typer.Option("--scope", help="Only this scope's lots.")]


def register(app: typer.Typer) -> None:
    app.add_typer(lot_app, name="lot")


@lot_app.command("import-taipei")
def import_taipei(
    file: FeedFile,
    scope: Scope = "tpe-lots",
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import (or re-import) the Taipei lot feed: lots, entrances, tariffs read per vehicle type."""
    clock = command_clock(at)
    with _listing_errors(as_json), refusals(as_json):
        lots = service.read_feed(file)
    with (
        _listing_errors(as_json),
        open_session(database_url, as_json) as session,
        _progress_bar(len(lots), as_json) as bar,
    ):
        summary = service.import_taipei(
            session, clock, admin_actor(), lots, scope, progress=bar.update
        )
    emit(summary.as_dict(), as_json, _summary_text)


def _progress_bar(total: int, as_json: bool) -> tqdm[NoReturn]:
    # ``disable=None`` turns the bar off when stderr is not a terminal (logs, pipes).
    return tqdm(total=total, unit="lot", file=sys.stderr, disable=True if as_json else None)


@contextmanager
def _listing_errors(as_json: bool) -> Iterator[None]:
    """Without ``--json``, list each problem of a refused file on stderr after the refusal."""
    try:
        yield
    except typer.Exit as exit_:
        cause = exit_.__cause__
        if not as_json and isinstance(cause, LotFileInvalid):
            for error in cause.extra.get("errors", []):
                typer.echo(f"  {error}", err=True)
        raise


def _summary_text(doc: dict[str, Any]) -> str:
    lines = [
        f"imported {doc['lots']} lots: {doc['inserted']} new, {doc['updated']} updated; "
        f"{doc['not_in_file']} lots of the scope not in this file (left as they are); "
        f"{doc['entrances']} entrances ({doc['entrances_unknown']} without a position skipped)"
    ]
    rows = [(name, *counts.values()) for name, counts in doc["tariffs"].items()]
    headers = ["tariffs", *next(iter(doc["tariffs"].values())).keys()]
    return "\n".join([*lines, table(headers, rows)])


@lot_app.command("list")
def list_lots(
    scope: ScopeFilter = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """The lots, with their capacities and how each vehicle type's tariff read."""
    with open_session(database_url, as_json, read_only=True) as session:
        doc = [lot.model_dump(mode="json") for lot in service.list_lots(session, scope)]
    emit(doc, as_json, _list_text)


def _list_text(doc: list[dict[str, Any]]) -> str:
    rows = [
        (
            lot["id"],
            lot["name"],
            lot["district"],
            lot["capacities"]["car"],
            lot["capacities"]["motorcycle"],
            *(lot["tariffs"].get(c, "") for c in ("car", "motorcycle", "heavy_motorcycle")),
        )
        for lot in doc
    ]
    headers = ["id", "name", "district", "cars", "motorcycles", "car", "motorcycle", "heavy"]
    return table(headers, rows) + f"\n{len(doc)} lots"


@lot_app.command("show")
def show(lot_id: IdArgument, as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """One lot: where it is, its entrances, its tariff text and how it read."""
    with open_session(database_url, as_json, read_only=True) as session:
        doc = service.get_lot(session, lot_id).model_dump(mode="json")
    emit(doc, as_json, _show_text)


def _show_text(doc: dict[str, Any]) -> str:
    lines = [
        f"{doc['id']} {doc['name']} ({doc['district'] or '?'}), scope {doc['scope']}",
        f"address: {doc['address'] or '?'}",
        "spaces: "
        + ", ".join(f"{k} {v if v is not None else '?'}" for k, v in doc["capacities"].items()),
    ]
    lines += [
        f"entrance: {e['latitude']:.6f}, {e['longitude']:.6f} {e['address'] or ''}".rstrip()
        for e in doc["entrances"]
    ]
    lines.append(f"tariff text: {doc['payex']}")
    for name, reading in doc["tariffs"].items():
        lines.append(f"{name}: {reading['status']}")
        if reading["tariff"] is not None:
            lines += [f"  {line}" for line in describe_tariff(tariff_from_json(reading["tariff"]))]
        lines += [f"  could not read: {phrase}" for phrase in reading["unread"]]
        lines += [f"  problem: {problem}" for problem in reading["problems"]]
        lines += [f"  FareInfo conflict: {conflict}" for conflict in reading["conflicts"]]
    return "\n".join(lines)


@lot_app.command("key")
def key(
    lot_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """Issue an API key for the lot's gates (shown once; the lot's other keys keep working)."""
    with open_session(database_url, as_json) as session:
        api_key = keys.issue_lot_key(session, command_clock(at), admin_actor(), lot_id)
    doc = {"lot": lot_id, "api_key": api_key}
    emit(
        doc,
        as_json,
        lambda d: f"API key for lot {d['lot']} (shown only once; store it now):\n{d['api_key']}",
    )


@lot_app.command("key-revoke")
def key_revoke(
    lot_id: IdArgument,
    key_id: KeyIdOption = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke the lot's keys (or one controller's, --key-id); they stop working at once."""
    revoke_keys_command(keys.LOT_KEY, lot_id, key_id, at, as_json, database_url)
