"""The registry's commands: plates (bind, unbind, lookup, history, transfer codes), the change
feed and the daily cycle here; scope, calendar and agent administration in ``cli_admin``.

``register`` adds them all to the root ``platebind`` app.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from platebind import daily
from platebind.cli_support import (
    AgentId,
    AsJson,
    At,
    DatabaseUrl,
    Plate,
    ScopeId,
    VehicleType,
    command_clock,
    emit,
    open_session,
    table,
    when,
)
from platebind.clock import taipei_iso
from platebind.registry import feed, queries, service
from platebind.registry.cli_admin import agent_app, calendar_app, scope_app
from platebind.registry.cli_shared import (
    admin_actor,
    binding_doc,
    binding_rows,
    binding_text,
    end_doc,
)
from platebind.registry.schemas import AuditOut, ChangeOut

cycle_app = typer.Typer(help="The daily cycle.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the registry's top-level commands, then its command groups, to ``app``."""
    for name, command in (
        ("bind", bind),
        ("unbind", unbind),
        ("lookup", lookup),
        ("history", history),
        ("transfer-code", transfer_code),
        ("changes", changes),
    ):
        app.command(name)(command)
    for sub, sub_name in (
        (scope_app, "scope"),
        (calendar_app, "calendar"),
        (agent_app, "agent"),
        (cycle_app, "cycle"),
    ):
        app.add_typer(sub, name=sub_name)


# ---------------------------------------------------------------------------------------------
# Bindings


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
    clock = command_clock(at)
    with open_session(database_url, as_json) as session:
        result = service.bind(
            session,
            clock,
            admin_actor(),
            agent_id=agent,
            scope_id=scope,
            vehicle_type=vehicle_type.value,
            plate=plate,
            transfer_code=transfer_code,
        )
    doc = {
        **binding_doc(result.binding, clock),
        "created": result.created,
        "effective_at": taipei_iso(result.effective_at),
    }
    emit(doc, as_json, lambda d: ("bound " if d["created"] else "already bound ") + binding_text(d))


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
    clock = command_clock(at)
    with open_session(database_url, as_json) as session:
        result = service.unbind_plate(
            session,
            clock,
            admin_actor(),
            agent_id=agent,
            scope_id=scope,
            vehicle_type=vehicle_type.value,
            plate=plate,
        )
    emit(end_doc(result, clock), as_json, lambda d: "unbound " + binding_text(d))


def lookup(
    scope: ScopeId,
    vehicle_type: VehicleType,
    plate: Plate,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Who holds a plate in a scope, and which changes are coming."""
    clock = command_clock(at)
    with open_session(database_url, as_json, read_only=True) as session:
        found = queries.lookup(session, scope, vehicle_type.value, plate, clock.now())
    doc = {
        "scope": found.key.scope_id,
        "vehicle_type": found.key.vehicle_type,
        "plate": found.key.plate,
        "holder": None if found.holder is None else binding_doc(found.holder, clock),
        "upcoming": [binding_doc(b, clock) for b in found.upcoming],
    }
    emit(doc, as_json, _lookup_text)


def _lookup_text(doc: dict[str, Any]) -> str:
    holder = doc["holder"]
    lines = [f"{doc['plate']} ({doc['vehicle_type']}) in {doc['scope']}"]
    lines.append("holder:   " + ("none" if holder is None else binding_text(holder)))
    lines += ["upcoming: " + binding_text(b) for b in doc["upcoming"]]
    return "\n".join(lines)


def history(
    vehicle_type: VehicleType,
    plate: Plate,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A plate's bindings in every scope and its audit trail."""
    clock = command_clock(at)
    with open_session(database_url, as_json) as session:
        history = queries.read_plate_history(
            session, clock, admin_actor(), vehicle_type.value, plate
        )
    doc = {
        "vehicle_type": history.key.vehicle_type,
        "plate": history.key.plate,
        "bindings": [binding_doc(b, clock) for b in history.bindings],
        "events": [AuditOut.of(e).model_dump(mode="json") for e in history.events],
    }
    emit(doc, as_json, _history_text)


def _history_text(doc: dict[str, Any]) -> str:
    events = table(
        ("at", "actor", "action", "scope"),
        ((when(e["at"]), e["actor"], e["action"], e["scope"]) for e in doc["events"]),
    )
    return (
        f"{doc['plate']} ({doc['vehicle_type']})\n\nbindings:\n{binding_rows(doc['bindings'])}"
        f"\n\nevents:\n{events}"
    )


def transfer_code(
    scope: ScopeId,
    vehicle_type: VehicleType,
    plate: Plate,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a transfer code for a plate (what its owner gets in the portal)."""
    with open_session(database_url, as_json) as session:
        issued = service.issue_transfer_code(
            session, command_clock(at), admin_actor(), scope, vehicle_type.value, plate
        )
    doc = {
        "code": issued.code,
        "scope": issued.record.scope_id,
        "vehicle_type": issued.record.vehicle_type,
        "plate": issued.record.plate,
        "expires_at": taipei_iso(issued.record.expires_at),
    }
    emit(
        doc,
        as_json,
        lambda d: (
            f"{d['code']} for {d['plate']} ({d['vehicle_type']}) in "
            f"{d['scope']}, single use, valid until {when(d['expires_at'])}"
        ),
    )


# ---------------------------------------------------------------------------------------------
# Change feed and cycle


def changes(
    scope: ScopeId,
    after: Annotated[int, typer.Option(min=0, help="Only changes with a higher seq.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=feed.MAX_PAGE)] = 100,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A scope's change feed, with the agent of each change."""
    with open_session(database_url, as_json, read_only=True) as session:
        rows = feed.changes(session, scope, after=after, limit=limit)
        docs = [ChangeOut.of(c, with_agent=True).model_dump(mode="json") for c in rows]

    def text(ds: list[dict[str, Any]]) -> str:
        headers = ("seq", "change", "plate", "type", "agent", "from", "to", "reason")
        return table(
            headers,
            [
                (
                    d["seq"],
                    d["change"],
                    d["plate"],
                    d["vehicle_type"],
                    d["agent"],
                    when(d["valid_from"]),
                    when(d["valid_to"]),
                    d["reason"],
                )
                for d in ds
            ],
        )

    emit(docs, as_json, text)


@cycle_app.command("run")
def cycle_run(
    scope_ids: Annotated[
        list[str] | None, typer.Option("--scope", help="Repeat; default all.")
    ] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Publish what took effect since the last run (activations and ends), then the other
    daily work (charges nobody settled, overdue bills)."""
    clock = command_clock(at)
    with open_session(database_url, as_json) as session:
        summaries = feed.run_cycle(session, clock, admin_actor(), scope_ids or None)
        jobs = daily.run_all(session, clock.now())
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
                when(d["window_start"]) or "(first run)",
                when(d["ran_at"]),
                d["activated"],
                d["ended"],
            )
            for d in ds
        ]
        published = table(("scope", "since", "ran at", "activated", "ended"), rows)
        return "\n".join([published, *(f"{name}: {summary}" for name, summary in jobs.items())])

    emit({"scopes": docs, "daily": jobs}, as_json, lambda doc: text(doc["scopes"]))
