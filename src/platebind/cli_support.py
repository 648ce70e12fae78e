"""Plumbing shared by every ``platebind`` command: options, the database, refusals, printing.

Infrastructure only: no feature is imported here; each feature's ``cli.py`` imports this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from rich.cells import cell_len
from sqlalchemy import make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from platebind.clock import TAIPEI, Clock, FixedClock, SystemClock, parse_at
from platebind.config import Settings
from platebind.db import (
    alembic_config,
    make_engine,
    make_session_factory,
    read_only_factory,
    transaction,
)
from platebind.errors import DomainError
from platebind.plates import TariffClass


class DatabaseNotMigrated(DomainError):
    code = "database_not_migrated"
    title = "The database schema is not up to date"
    status = 503


class DatabaseUnavailable(DomainError):
    code = "database_unavailable"
    title = "The database cannot be reached"
    status = 503


# ---------------------------------------------------------------------------------------------
# Options. A malformed value is a usage error (exit 2) naming the option.


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from exc


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Default: $PLATEBIND_DATABASE_URL or $DATABASE_URL, else sqlite:///./platebind.db.",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print only the JSON document.")]
At = Annotated[
    datetime | None,
    typer.Option(
        "--at",
        parser=parse_at,
        metavar="ISO-8601",
        help="Act as if it were this time (no offset = Taipei time). Default: now.",
    ),
]
ScopeId = Annotated[str, typer.Option("--scope", help="Scope id, e.g. tpe-lots.")]
AgentId = Annotated[str, typer.Option("--agent", help="Agent id.")]
VehicleType = Annotated[TariffClass, typer.Option("--type", case_sensitive=False)]
Plate = Annotated[str, typer.Option("--plate", help="Licence plate, e.g. ABC-1234.")]
IdArgument = Annotated[str, typer.Argument(metavar="ID")]
Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(min=1, max=65535)]


# ---------------------------------------------------------------------------------------------
# The database, the clock and refusals


def resolve_database_url(given: str | None) -> str:
    return given or Settings().database_url


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def command_clock(at: datetime | None) -> Clock:
    """One instant per command, so the service and the printed statuses agree on "now"."""
    return FixedClock(at if at is not None else SystemClock().now())


@contextmanager
def refusals(as_json: bool) -> Iterator[None]:
    """Render a refusal and exit 1."""
    try:
        yield
    except DomainError as exc:
        if as_json:
            doc = {"code": exc.code, "title": exc.title, "detail": exc.detail, **exc.extra}
            print_json(doc)
        else:
            typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _database_problem(engine: Engine, url: str, check_schema: bool) -> DomainError | None:
    """Explain a failed statement when the cause is the database itself, else None."""
    try:
        current = schema_revision(engine)
    except DBAPIError as exc:
        return DatabaseUnavailable(f"cannot use the database {shown_url(url)}: {exc.orig}")
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if not check_schema or current == head:
        return None
    state = "has no schema" if current is None else f"is at revision {current}, not {head}"
    return DatabaseNotMigrated(
        f"the database {shown_url(url)} {state}; run `platebind db upgrade` first"
    )


@contextmanager
def open_database(url: str, *, check_schema: bool = True) -> Iterator[Engine]:
    """An engine for one command; disposed at the end."""
    engine = make_engine(url)
    try:
        yield engine
    except DBAPIError as exc:
        problem = _database_problem(engine, url, check_schema)
        if problem is None:
            raise
        raise problem from exc
    finally:
        engine.dispose()


@contextmanager
def open_session(
    database_url: str | None, as_json: bool, *, read_only: bool = False
) -> Iterator[Session]:
    """One unit of work: committed at the end, rolled back (aftermath kept) on a refusal."""
    with refusals(as_json), open_database(resolve_database_url(database_url)) as engine:
        factory = read_only_factory(engine) if read_only else make_session_factory(engine)
        with transaction(factory) as session:
            yield session


# ---------------------------------------------------------------------------------------------
# Printing: the JSON document with ``--json``, else its human-readable form


def print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))


def emit(doc: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """The JSON document with ``--json``, else its human-readable form."""
    if as_json:
        print_json(doc)
    else:
        typer.echo(text(doc))


def when(iso: str | None) -> str:
    """``2026/11/28 04:00`` in Taipei time."""
    if iso is None:
        return ""
    return datetime.fromisoformat(iso).astimezone(TAIPEI).strftime("%Y/%m/%d %H:%M")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Plain aligned columns; ``cell_len`` counts a CJK character as two columns."""
    cells = [list(headers), *(["" if c is None else str(c) for c in row] for row in rows)]
    widths = [max(cell_len(row[i]) for row in cells) for i in range(len(headers))]
    lines = (
        "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(row, widths, strict=True))
        for row in cells
    )
    return "\n".join(line.rstrip() for line in lines)


def key_value_lines(items: dict[str, Any]) -> str:
    """``key: <JSON value>``, one a line."""
    return "\n".join(
        f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in items.items()
    )
