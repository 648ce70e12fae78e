"""The authority's registry administration: ``scope``, ``calendar`` and ``agent`` commands."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from platebind.cli_support import (
    AsJson,
    At,
    DatabaseUrl,
    IdArgument,
    command_clock,
    emit,
    open_session,
    parse_day,
    table,
)
from platebind.registry import agents, scopes, service
from platebind.registry.agents import AgentProfile
from platebind.registry.cli_shared import (
    KeyIdOption,
    admin_actor,
    binding_text,
    end_doc,
    revoke_keys_command,
)
from platebind.registry.errors import InvalidScopeSettings
from platebind.registry.models import Agent
from platebind.registry.schemas import AgentOut, ScopeOut

scope_app = typer.Typer(help="Scopes: independent binding spaces.", no_args_is_help=True)
calendar_app = typer.Typer(help="The business-day calendar.", no_args_is_help=True)
agent_app = typer.Typer(help="Agents (payment service providers).", no_args_is_help=True)


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


# ---------------------------------------------------------------------------------------------
# scope, calendar


@scope_app.command("add")
def scope_add(
    scope_id: IdArgument,
    name: Annotated[str, typer.Option("--name")],
    kind: Annotated[str, typer.Option("--kind", parser=_kind, metavar="lots|roadside|partner")],
    cutover: Annotated[str, typer.Option(parser=_cutover, metavar="HH:MM")] = "04:00",
    lead_hours: Annotated[float, typer.Option(metavar="H")] = 1.0,
    immediate: Annotated[bool, typer.Option("--immediate")] = False,
    business_days_only: Annotated[bool, typer.Option("--business-days-only")] = False,
    name_en: Annotated[
        str | None, typer.Option("--name-en", help="English name for the portal.")
    ] = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a scope with its cut-over (Taipei time) and lead time."""
    with open_session(database_url, as_json) as session:
        scope = scopes.add_scope(
            session,
            command_clock(at),
            admin_actor(),
            scope_id=scope_id,
            name=name,
            name_en=name_en,
            kind=kind,
            cutover=cutover,
            lead_hours=lead_hours,
            immediate=immediate,
            business_days_only=business_days_only,
        )
    doc = ScopeOut.of(scope).model_dump(mode="json")
    emit(doc, as_json, lambda d: f"added scope {d['id']}\n{_scope_rows([d])}")


def _scope_rows(docs: list[dict[str, Any]]) -> str:
    def rules(d: dict[str, Any]) -> str:
        if d["immediate"]:
            return "immediate"
        days = ", business days" if d["business_days_only"] else ""
        return f"{d['cutover']} after {d['lead_hours']:g} h{days}"

    rows = [(d["id"], d["name"], d["kind"], rules(d), d["last_seq"]) for d in docs]
    return table(("id", "name", "kind", "takes effect", "seq"), rows)


@scope_app.command("list")
def scope_list(as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """List scopes."""
    with open_session(database_url, as_json, read_only=True) as session:
        docs = [ScopeOut.of(s).model_dump(mode="json") for s in scopes.list_scopes(session)]
    emit(docs, as_json, _scope_rows)


@calendar_app.command("close")
def calendar_close(
    day: Annotated[date, typer.Argument(parser=parse_day, metavar="YYYY-MM-DD")],
    reason: Annotated[str, typer.Option("--reason", help="e.g. 颱風停班")],
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Declare a day closed (typhoon day): business-day scopes skip its cut-over."""
    with open_session(database_url, as_json) as session:
        closed = scopes.close_day(session, command_clock(at), admin_actor(), day, reason)
    doc = {"day": closed.day.isoformat(), "reason": closed.reason}
    emit(doc, as_json, lambda d: f"{d['day']} is closed: {d['reason']}")


# ---------------------------------------------------------------------------------------------
# agent


def _agent_doc(session: Session, agent: Agent) -> dict[str, Any]:
    out = AgentOut.of(agent, agents.accredited_scopes(session, agent.id))
    return out.model_dump(mode="json")


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
    with open_session(database_url, as_json) as session:
        agent, key = agents.add_agent(
            session,
            command_clock(at),
            admin_actor(),
            agent_id=agent_id,
            name=name,
            scopes=wanted,
            profile=profile,
        )
        doc = {**_agent_doc(session, agent), "api_key": key}
    emit(doc, as_json, lambda d: f"added agent {d['id']}\n{_key_text(d['id'], d['api_key'])}")


def _key_text(agent_id: str, key: str) -> str:
    return f"API key for {agent_id} (shown only once; store it now):\n{key}"


def _agent_rows(docs: list[dict[str, Any]]) -> str:
    rows = [(d["id"], d["name"], d["status"], ",".join(d["scopes"])) for d in docs]
    return table(("id", "name", "status", "scopes"), rows)


@agent_app.command("list")
def agent_list(as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """List agents."""
    with open_session(database_url, as_json, read_only=True) as session:
        docs = [_agent_doc(session, agent) for agent in agents.list_agents(session)]
    emit(docs, as_json, _agent_rows)


@agent_app.command("key-rotate")
def agent_key_rotate(
    agent_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """Issue a new API key; the agent's old keys stop working at once."""
    with open_session(database_url, as_json) as session:
        key = agents.rotate_key(session, command_clock(at), admin_actor(), agent_id)
    doc = {"agent": agent_id, "api_key": key}
    emit(doc, as_json, lambda d: _key_text(d["agent"], d["api_key"]) + "\nOld keys are revoked.")


@agent_app.command("key-add")
def agent_key_add(
    agent_id: IdArgument, at: At = None, as_json: AsJson = False, database_url: DatabaseUrl = None
) -> None:
    """Issue another API key; the old ones keep working until `agent key-revoke` (a rotation
    without downtime: the agent deploys the new key first)."""
    with open_session(database_url, as_json) as session:
        key = agents.add_key(session, command_clock(at), admin_actor(), agent_id)
    doc = {"agent": agent_id, "api_key": key}
    emit(doc, as_json, lambda d: _key_text(d["agent"], d["api_key"]) + "\nOld keys still work.")


@agent_app.command("key-revoke")
def agent_key_revoke(
    agent_id: IdArgument,
    key_id: KeyIdOption = None,
    at: At = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke the agent's keys (or one of them, --key-id); they stop working at once."""
    revoke_keys_command("agent", agent_id, key_id, at, as_json, database_url)


def _set_status(
    agent_id: str, status: str, at: datetime | None, as_json: bool, url: str | None
) -> None:
    with open_session(url, as_json) as session:
        agent = agents.set_agent_status(session, command_clock(at), admin_actor(), agent_id, status)
        doc = _agent_doc(session, agent)
    emit(doc, as_json, lambda d: f"agent {d['id']} is {d['status']}")


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
    clock = command_clock(at)
    with open_session(database_url, as_json) as session:
        results = service.offboard_agent(session, clock, admin_actor(), agent_id)
    docs = [end_doc(r, clock) for r in results]

    def text(ds: list[dict[str, Any]]) -> str:
        ends = "".join(f"\n  {binding_text(d)}" for d in ds)
        return f"agent {agent_id} offboarded, keys revoked; {len(ds)} binding(s) end{ends}"

    emit(docs, as_json, text)
