"""The ``platebind`` command line: the authority's tool. Thin: parse, call one service, render.

Exit status: 0 done; 1 refused (a ``DomainError``: with ``--json`` its ``{code, title, detail,
...}`` on stdout, otherwise ``error: <detail>`` on stderr); 2 malformed command line (Typer's
usage error on stderr: unknown option or vehicle type, a time that is not ISO-8601, a cut-over
that is not HH:MM). Malformed means "not the right shape"; a well-formed value the registry
refuses (an unreadable plate, an unknown scope) is a refusal.
"""

from __future__ import annotations

import getpass
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

from platebind.clock import TAIPEI, Clock, FixedClock, SystemClock, parse_at, taipei_iso
from platebind.config import Settings
from platebind.db import (
    alembic_config,
    make_engine,
    make_session_factory,
    read_only_factory,
    transaction,
)
from platebind.db import upgrade as upgrade_schema
from platebind.errors import DomainError
from platebind.plates import TariffClass
from platebind.registry import agents, feed, scopes, service
from platebind.registry.agents import AgentProfile
from platebind.registry.audit import Actor
from platebind.registry.errors import InvalidScopeSettings
from platebind.registry.models import Agent, Binding
from platebind.registry.schemas import AgentOut, AuditOut, BindingOut, ChangeOut, ScopeOut

DEMO_DATABASE_URL = "sqlite:///./platebind-demo.db"

# Tracebacks with locals would print API keys and database passwords.
app = typer.Typer(
    help="platebind: plate-binding registry for card-free parking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
scope_app = typer.Typer(help="Scopes: independent binding spaces.", no_args_is_help=True)
calendar_app = typer.Typer(help="The business-day calendar.", no_args_is_help=True)
agent_app = typer.Typer(help="Agents (payment service providers).", no_args_is_help=True)
cycle_app = typer.Typer(help="The daily cycle.", no_args_is_help=True)
for _sub, _name in (
    (db_app, "db"),
    (scope_app, "scope"),
    (calendar_app, "calendar"),
    (agent_app, "agent"),
    (cycle_app, "cycle"),
):
    app.add_typer(_sub, name=_name)


class DatabaseNotMigrated(DomainError):
    code = "database_not_migrated"
    title = "The database schema is not up to date"
    status = 503


class DatabaseUnavailable(DomainError):
    code = "database_unavailable"
    title = "The database cannot be reached"
    status = 503


# ---------------------------------------------------------------------------------------------
# Option parsers: a malformed value is a usage error (exit 2) naming the option.


def _cutover(text: str) -> str:
    try:
        scopes.parse_cutover(text)
    except InvalidScopeSettings as exc:
        raise typer.BadParameter(exc.detail) from exc
    return text.strip()


def _kind(text: str) -> str:
    if text not in scopes.SCOPE_KINDS:
        raise typer.BadParameter(f"{text!r} is not one of {', '.join(scopes.SCOPE_KINDS)}")
    return text


def _day(text: str) -> date:
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
# Plumbing shared by every command


def _database_url(given: str | None) -> str:
    return given or Settings().database_url


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _clock(at: datetime | None) -> Clock:
    """One instant per command, so the service and the printed statuses agree on "now"."""
    return FixedClock(at if at is not None else SystemClock().now())


def _actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database
        user = "unknown"
    return Actor("admin", user)


@contextmanager
def _refusals(as_json: bool) -> Iterator[None]:
    """Render a refusal and exit 1."""
    try:
        yield
    except DomainError as exc:
        if as_json:
            doc = {"code": exc.code, "title": exc.title, "detail": exc.detail, **exc.extra}
            _print_json(doc)
        else:
            typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


def _schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _database_problem(engine: Engine, url: str, check_schema: bool) -> DomainError | None:
    """Explain a failed statement when the cause is the database itself, else None."""
    try:
        current = _schema_revision(engine)
    except DBAPIError as exc:
        return DatabaseUnavailable(f"cannot use the database {_shown(url)}: {exc.orig}")
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if not check_schema or current == head:
        return None
    state = "has no schema" if current is None else f"is at revision {current}, not {head}"
    return DatabaseNotMigrated(
        f"the database {_shown(url)} {state}; run `platebind db upgrade` first"
    )


@contextmanager
def _database(url: str, *, check_schema: bool = True) -> Iterator[Engine]:
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
def _session(
    database_url: str | None, as_json: bool, *, read_only: bool = False
) -> Iterator[Session]:
    """One unit of work: committed at the end, rolled back (aftermath kept) on a refusal."""
    with _refusals(as_json), _database(_database_url(database_url)) as engine:
        factory = read_only_factory(engine) if read_only else make_session_factory(engine)
        with transaction(factory) as session:
            yield session


def _print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))


def _emit(doc: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """The JSON document with ``--json``, else its human-readable form."""
    if as_json:
        _print_json(doc)
    else:
        typer.echo(text(doc))


# ---------------------------------------------------------------------------------------------
# Documents (the JSON contract) and their human-readable forms


def _binding_doc(binding: Binding, clock: Clock) -> dict[str, Any]:
    return BindingOut.of(binding, clock.now()).model_dump(mode="json")


def _end_doc(result: service.EndResult, clock: Clock) -> dict[str, Any]:
    effective = {"effective_at": taipei_iso(result.effective_at), "changed": result.changed}
    return {**_binding_doc(result.binding, clock), **effective}


def _agent_doc(session: Session, agent: Agent) -> dict[str, Any]:
    out = AgentOut.of(agent, agents.accredited_scopes(session, agent.id))
    return out.model_dump(mode="json")


def _when(iso: str | None) -> str:
    """``2026/11/28 04:00`` in Taipei time."""
    if iso is None:
        return ""
    return datetime.fromisoformat(iso).astimezone(TAIPEI).strftime("%Y/%m/%d %H:%M")


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Plain aligned columns; ``cell_len`` counts a CJK character as two columns."""
    cells = [list(headers), *(["" if c is None else str(c) for c in row] for row in rows)]
    widths = [max(cell_len(row[i]) for row in cells) for i in range(len(headers))]
    lines = (
        "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(row, widths, strict=True))
        for row in cells
    )
    return "\n".join(line.rstrip() for line in lines)


def _binding_text(doc: dict[str, Any]) -> str:
    text = f"{doc['plate']} ({doc['vehicle_type']}) in {doc['scope']}: {doc['agent']}, "
    text += f"{doc['status']} from {_when(doc['valid_from'])}"
    if doc["valid_to"] is not None:
        text += f" to {_when(doc['valid_to'])}"
    return text + (f" ({doc['end_reason']})" if doc["end_reason"] else "")


def _binding_rows(docs: list[dict[str, Any]]) -> str:
    rows = [
        (
            d["scope"],
            d["agent"],
            d["status"],
            _when(d["valid_from"]),
            _when(d["valid_to"]),
            d["end_reason"],
        )
        for d in docs
    ]
    return _table(("scope", "agent", "status", "from", "to", "reason"), rows)


def _lines(items: dict[str, Any]) -> str:
    return "\n".join(
        f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in items.items()
    )


# ---------------------------------------------------------------------------------------------
# db, scope, calendar


@db_app.command("upgrade")
def db_upgrade(as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the schema (alembic upgrade head); safe to run again."""
    url = _database_url(database_url)
    with _refusals(as_json), _database(url, check_schema=False) as engine:
        before = _schema_revision(engine)
        upgrade_schema(url)
        after = _schema_revision(engine)
    doc = {"database": _shown(url), "from": before, "to": after, "changed": before != after}

    def text(d: dict[str, Any]) -> str:
        if not d["changed"]:
            return f"{d['database']} is already at revision {d['to']}; nothing to do"
        return f"upgraded {d['database']} from {d['from'] or 'an empty database'} to {d['to']}"

    _emit(doc, as_json, text)


@scope_app.command("add")
def scope_add(
    scope_id: IdArgument,
    name: Annotated[str, typer.Option("--name")],
    kind: Annotated[str, typer.Option("--kind", parser=_kind, metavar="lots|roadside|partner")],
    cutover: Annotated[str, typer.Option(parser=_cutover, metavar="HH:MM")] = "04:00",
    lead_hours: Annotated[float, typer.Option(metavar="H")] = 1.0,
    immediate: Annotated[bool, typer.Option("--immediate")] = False,
    business_days_only: Annotated[bool, typer.Option("--business-days-only")] = False,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a scope with its cut-over (Taipei time) and lead time."""
    with _session(database_url, as_json) as session:
        scope = scopes.add_scope(
            session,
            _clock(at),
            _actor(),
            scope_id=scope_id,
            name=name,
            kind=kind,
            cutover=cutover,
            lead_hours=lead_hours,
            immediate=immediate,
            business_days_only=business_days_only,
        )
    doc = ScopeOut.of(scope).model_dump(mode="json")
    _emit(doc, as_json, lambda d: f"added scope {d['id']}\n{_scope_rows([d])}")


def _scope_rows(docs: list[dict[str, Any]]) -> str:
    def rules(d: dict[str, Any]) -> str:
        if d["immediate"]:
            return "immediate"
        days = ", business days" if d["business_days_only"] else ""
        return f"{d['cutover']} after {d['lead_hours']:g} h{days}"

    rows = [(d["id"], d["name"], d["kind"], rules(d), d["last_seq"]) for d in docs]
    return _table(("id", "name", "kind", "takes effect", "seq"), rows)


@scope_app.command("list")
def scope_list(as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """List scopes."""
    with _session(database_url, as_json, read_only=True) as session:
        docs = [ScopeOut.of(s).model_dump(mode="json") for s in scopes.list_scopes(session)]
    _emit(docs, as_json, _scope_rows)


@calendar_app.command("close")
def calendar_close(
    day: Annotated[date, typer.Argument(parser=_day, metavar="YYYY-MM-DD")],
    reason: Annotated[str, typer.Option("--reason", help="e.g. 颱風停班")],
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Declare a day closed (typhoon day): business-day scopes skip its cut-over."""
    with _session(database_url, as_json) as session:
        closed = scopes.close_day(session, _clock(at), _actor(), day, reason)
    doc = {"day": closed.day.isoformat(), "reason": closed.reason}
    _emit(doc, as_json, lambda d: f"{d['day']} is closed: {d['reason']}")


# ---------------------------------------------------------------------------------------------
# agent


@agent_app.command("add")
def agent_add(
    agent_id: IdArgument,
    name: Annotated[str, typer.Option("--name")],
    scope_ids: Annotated[str, typer.Option("--scopes", metavar="S1,S2", help="Accredited scopes.")],
    name_en: Annotated[str | None, typer.Option("--name-en")] = None,
    support_phone: Annotated[str | None, typer.Option("--support-phone")] = None,
    support_url: Annotated[str | None, typer.Option("--support-url")] = None,
    unbind_instructions: Annotated[str | None, typer.Option("--unbind-instructions")] = None,
    unbind_url: Annotated[str | None, typer.Option("--unbind-url")] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Register an agent, accredit it for scopes and print its first API key (shown once)."""
    profile = AgentProfile(name_en, support_phone, support_url, unbind_instructions, unbind_url)
    wanted = [s.strip() for s in scope_ids.split(",") if s.strip()]
    with _session(database_url, as_json) as session:
        agent, key = agents.add_agent(
            session,
            _clock(at),
            _actor(),
            agent_id=agent_id,
            name=name,
            scopes=wanted,
            profile=profile,
        )
        doc = {**_agent_doc(session, agent), "api_key": key}
    _emit(doc, as_json, lambda d: f"added agent {d['id']}\n{_key_text(d['id'], d['api_key'])}")


def _key_text(agent_id: str, key: str) -> str:
    return f"API key for {agent_id} (shown only once; store it now):\n{key}"


def _agent_rows(docs: list[dict[str, Any]]) -> str:
    rows = [(d["id"], d["name"], d["status"], ",".join(d["scopes"])) for d in docs]
    return _table(("id", "name", "status", "scopes"), rows)


@agent_app.command("list")
def agent_list(as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """List agents."""
    with _session(database_url, as_json, read_only=True) as session:
        docs = [_agent_doc(session, agent) for agent in agents.list_agents(session)]
    _emit(docs, as_json, _agent_rows)


@agent_app.command("key-rotate")
def agent_key_rotate(
    agent_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """Issue a new API key; the agent's old keys stop working at once."""
    with _session(database_url, as_json) as session:
        key = agents.rotate_key(session, _clock(at), _actor(), agent_id)
    doc = {"agent": agent_id, "api_key": key}
    _emit(doc, as_json, lambda d: _key_text(d["agent"], d["api_key"]) + "\nOld keys are revoked.")


def _set_status(
    agent_id: str, status: str, at: datetime | None, as_json: bool, url: str | None
) -> None:
    with _session(url, as_json) as session:
        agent = agents.set_agent_status(session, _clock(at), _actor(), agent_id, status)
        doc = _agent_doc(session, agent)
    _emit(doc, as_json, lambda d: f"agent {d['id']} is {d['status']}")


@agent_app.command("suspend")
def agent_suspend(
    agent_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """Suspend an agent: no new binds; other agents may take its plates without a code."""
    _set_status(agent_id, "suspended", at, as_json, database_url)


@agent_app.command("reactivate")
def agent_reactivate(
    agent_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """Lift a suspension."""
    _set_status(agent_id, "active", at, as_json, database_url)


@agent_app.command("offboard")
def agent_offboard(
    agent_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """End all the agent's bindings at each scope's next cut-over and revoke its keys."""
    clock = _clock(at)
    with _session(database_url, as_json) as session:
        results = service.offboard_agent(session, clock, _actor(), agent_id)
    docs = [_end_doc(r, clock) for r in results]

    def text(ds: list[dict[str, Any]]) -> str:
        ends = "".join(f"\n  {_binding_text(d)}" for d in ds)
        return f"agent {agent_id} offboarded, keys revoked; {len(ds)} binding(s) end{ends}"

    _emit(docs, as_json, text)


# ---------------------------------------------------------------------------------------------
# Bindings


@app.command()
def bind(
    agent: AgentId,
    scope: ScopeId,
    vehicle_type: VehicleType,
    plate: Plate,
    transfer_code: Annotated[str | None, typer.Option("--transfer-code")] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Bind a plate to an agent in a scope (as the agent would through the API)."""
    clock = _clock(at)
    with _session(database_url, as_json) as session:
        result = service.bind(
            session,
            clock,
            _actor(),
            agent_id=agent,
            scope_id=scope,
            vehicle_type=vehicle_type.value,
            plate=plate,
            transfer_code=transfer_code,
        )
    doc = {
        **_binding_doc(result.binding, clock),
        "created": result.created,
        "effective_at": taipei_iso(result.effective_at),
    }
    _emit(
        doc, as_json, lambda d: ("bound " if d["created"] else "already bound ") + _binding_text(d)
    )


@app.command()
def unbind(
    agent: AgentId,
    scope: ScopeId,
    vehicle_type: VehicleType,
    plate: Plate,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """End the agent's binding of a plate at the scope's next cut-over."""
    clock = _clock(at)
    with _session(database_url, as_json) as session:
        result = service.unbind_plate(
            session,
            clock,
            _actor(),
            agent_id=agent,
            scope_id=scope,
            vehicle_type=vehicle_type.value,
            plate=plate,
        )
    _emit(_end_doc(result, clock), as_json, lambda d: "unbound " + _binding_text(d))


@app.command()
def lookup(
    scope: ScopeId,
    vehicle_type: VehicleType,
    plate: Plate,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Who holds a plate in a scope, and which changes are coming."""
    clock = _clock(at)
    with _session(database_url, as_json, read_only=True) as session:
        found = service.lookup(session, scope, vehicle_type.value, plate, clock.now())
    doc = {
        "scope": found.key.scope_id,
        "vehicle_type": found.key.vehicle_type,
        "plate": found.key.plate,
        "holder": None if found.holder is None else _binding_doc(found.holder, clock),
        "upcoming": [_binding_doc(b, clock) for b in found.upcoming],
    }
    _emit(doc, as_json, _lookup_text)


def _lookup_text(doc: dict[str, Any]) -> str:
    holder = doc["holder"]
    lines = [f"{doc['plate']} ({doc['vehicle_type']}) in {doc['scope']}"]
    lines.append("holder:   " + ("none" if holder is None else _binding_text(holder)))
    lines += ["upcoming: " + _binding_text(b) for b in doc["upcoming"]]
    return "\n".join(lines)


@app.command()
def history(
    vehicle_type: VehicleType,
    plate: Plate,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A plate's bindings in every scope and its audit trail."""
    clock = _clock(at)
    with _session(database_url, as_json) as session:
        history = service.read_plate_history(session, clock, _actor(), vehicle_type.value, plate)
    doc = {
        "vehicle_type": history.key.vehicle_type,
        "plate": history.key.plate,
        "bindings": [_binding_doc(b, clock) for b in history.bindings],
        "events": [AuditOut.of(e).model_dump(mode="json") for e in history.events],
    }
    _emit(doc, as_json, _history_text)


def _history_text(doc: dict[str, Any]) -> str:
    events = _table(
        ("at", "actor", "action", "scope"),
        ((_when(e["at"]), e["actor"], e["action"], e["scope"]) for e in doc["events"]),
    )
    return (
        f"{doc['plate']} ({doc['vehicle_type']})\n\nbindings:\n{_binding_rows(doc['bindings'])}"
        f"\n\nevents:\n{events}"
    )


@app.command("transfer-code")
def transfer_code(
    scope: ScopeId,
    vehicle_type: VehicleType,
    plate: Plate,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a transfer code for a plate (what its owner gets in the portal)."""
    with _session(database_url, as_json) as session:
        issued = service.issue_transfer_code(
            session, _clock(at), _actor(), scope, vehicle_type.value, plate
        )
    doc = {
        "code": issued.code,
        "scope": issued.record.scope_id,
        "vehicle_type": issued.record.vehicle_type,
        "plate": issued.record.plate,
        "expires_at": taipei_iso(issued.record.expires_at),
    }
    _emit(
        doc,
        as_json,
        lambda d: (
            f"{d['code']} for {d['plate']} ({d['vehicle_type']}) in "
            f"{d['scope']}, single use, valid until {_when(d['expires_at'])}"
        ),
    )


# ---------------------------------------------------------------------------------------------
# Change feed and cycle


@app.command()
def changes(
    scope: ScopeId,
    after: Annotated[int, typer.Option(min=0, help="Only changes with a higher seq.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=feed.MAX_PAGE)] = 100,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A scope's change feed, with the agent of each change."""
    with _session(database_url, as_json, read_only=True) as session:
        rows = feed.changes(session, scope, after=after, limit=limit)
        docs = [ChangeOut.of(c, with_agent=True).model_dump(mode="json") for c in rows]

    def text(ds: list[dict[str, Any]]) -> str:
        headers = ("seq", "change", "plate", "type", "agent", "from", "to", "reason")
        return _table(
            headers,
            [
                (
                    d["seq"],
                    d["change"],
                    d["plate"],
                    d["vehicle_type"],
                    d["agent"],
                    _when(d["valid_from"]),
                    _when(d["valid_to"]),
                    d["reason"],
                )
                for d in ds
            ],
        )

    _emit(docs, as_json, text)


@cycle_app.command("run")
def cycle_run(
    scope_ids: Annotated[
        list[str] | None, typer.Option("--scope", help="Repeat; default all.")
    ] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Publish what took effect since the last run (activations and ends)."""
    with _session(database_url, as_json) as session:
        summaries = feed.run_cycle(session, _clock(at), _actor(), scope_ids or None)
    docs = [
        {
            "scope": s.scope_id,
            "window_start": taipei_iso(s.window_start),
            "ran_at": taipei_iso(s.ran_at),
            "activated": s.activated,
            "ended": s.ended,
        }
        for s in summaries
    ]

    def text(ds: list[dict[str, Any]]) -> str:
        rows = [
            (
                d["scope"],
                _when(d["window_start"]) or "(first run)",
                _when(d["ran_at"]),
                d["activated"],
                d["ended"],
            )
            for d in ds
        ]
        return _table(("scope", "since", "ran at", "activated", "ended"), rows)

    _emit(docs, as_json, text)


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
    """Run the API server."""
    from platebind.api.server import run_server

    # run_server starts no background worker yet, so --no-worker holds already; pass it on
    # once run_server takes a ``worker`` switch.
    del no_worker
    run_server(database_url=_database_url(database_url), host=host, port=port, workers=workers)


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build the world, do not serve.")
    ] = False,
    at: At = None,
    as_json: AsJson = False,
    # Not $DATABASE_URL: the demo deletes and rebuilds a SQLite file, never the real registry.
    database_url: Annotated[str, typer.Option("--database-url")] = DEMO_DATABASE_URL,
) -> None:
    """Build a demo world (scopes, agents, bindings) and serve it."""
    from platebind.api.server import run_server
    from platebind.demo import build_demo_world

    with _refusals(as_json):
        world = build_demo_world(database_url, now=_clock(at).now())
    _emit(world.as_dict(), as_json, _lines)
    if not no_serve:
        run_server(database_url=database_url, host=host, port=port, workers=1)


def main() -> None:
    app(prog_name="platebind")
