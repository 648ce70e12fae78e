"""``platebind vehicles import``: load the motor-vehicle registry extract (CSV)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from tqdm import tqdm

from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    command_clock,
    emit,
    open_session,
    refusals,
)
from platebind.config import Settings
from platebind.registry.cli_shared import admin_actor
from platebind.vehicles import service

vehicles_app = typer.Typer(help="The motor-vehicle registry extract.", no_args_is_help=True)

ExtractFile = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="CSV, UTF-8 (a BOM is fine), header vehicle_type,plate,owner_id.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(vehicles_app, name="vehicles")


@vehicles_app.command("import")
def import_extract(
    file: ExtractFile,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a full extract: upsert every plate; an owner change ends the plate's bindings."""
    with refusals(as_json):
        key = service.id_hash_key(Settings().id_hash_key)
    clock = command_clock(at)
    # Exits run in reverse: the bar closes before a refusal is printed.
    with (
        _listing_errors(as_json),
        open_session(database_url, as_json) as session,
        _progress_bar(file, as_json) as bar,
        file.open("rb") as stream,
    ):
        summary = service.import_extract(
            session, clock, admin_actor(), stream, key, progress=bar.update
        )
    emit(summary.as_dict(), as_json, _summary_text)


def _progress_bar(file: Path, as_json: bool) -> tqdm[NoReturn]:
    # ``disable=None`` turns the bar off when stderr is not a terminal (logs, pipes).
    return tqdm(
        total=file.stat().st_size,
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        disable=True if as_json else None,
    )


@contextmanager
def _listing_errors(as_json: bool) -> Iterator[None]:
    """Without ``--json``, list each error of a refused extract on stderr after the refusal."""
    try:
        yield
    except typer.Exit as exit_:
        cause = exit_.__cause__
        if not as_json and isinstance(cause, service.ImportInvalid):
            for error in cause.extra["errors"]:
                where = f"line {error['line']}" + (f", {error['field']}" if error["field"] else "")
                typer.echo(f"  {where}: {error['message']}", err=True)
        raise


def _summary_text(doc: dict[str, int]) -> str:
    return (
        f"imported {doc['rows']} vehicles: {doc['inserted']} new, {doc['updated']} updated, "
        f"{doc['unchanged']} unchanged; {doc['owner_changed']} owner changes ended "
        f"{doc['bindings_ended']} bindings; {doc['absent']} registered plates not in this extract "
        "(left as they are)"
    )
