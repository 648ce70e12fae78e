"""What the registry's plate commands and its admin commands both print, who acts, and the
key revocation the agent, lot and roadside commands share."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Annotated, Any

import typer

from platebind.cli_support import command_clock, emit, open_session, table, when
from platebind.clock import Clock, taipei_iso
from platebind.registry import agents, service
from platebind.registry.audit import Actor
from platebind.registry.models import Binding
from platebind.registry.schemas import BindingOut


def admin_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database
        user = "unknown"
    return Actor("admin", user)


# ---------------------------------------------------------------------------------------------
# Documents (the JSON contract) and their human-readable forms


def binding_doc(binding: Binding, clock: Clock) -> dict[str, Any]:
    return BindingOut.of(binding, clock.now()).model_dump(mode="json")


def end_doc(result: service.EndResult, clock: Clock) -> dict[str, Any]:
    effective = {"effective_at": taipei_iso(result.effective_at), "changed": result.changed}
    return {**binding_doc(result.binding, clock), **effective}


def binding_text(doc: dict[str, Any]) -> str:
    text = f"{doc['plate']} ({doc['vehicle_type']}) in {doc['scope']}: {doc['agent']}, "
    text += f"{doc['status']} from {when(doc['valid_from'])}"
    if doc["valid_to"] is not None:
        text += f" to {when(doc['valid_to'])}"
    return text + (f" ({doc['end_reason']})" if doc["end_reason"] else "")


def binding_rows(docs: list[dict[str, Any]]) -> str:
    rows = [
        (
            d["scope"],
            d["agent"],
            d["status"],
            when(d["valid_from"]),
            when(d["valid_to"]),
            d["end_reason"],
        )
        for d in docs
    ]
    return table(("scope", "agent", "status", "from", "to", "reason"), rows)


# ---------------------------------------------------------------------------------------------
# Revoking keys (agents', lots' and wardens': one rule, three commands)

KeyIdOption = Annotated[
    str | None,
    typer.Option(
        "--key-id",
        help="Only this key: the part between 'pbk_' and the next '_'. Default: every live key.",
    ),
]


def revoke_keys_command(
    kind: str,
    subject_id: str,
    key_id: str | None,
    at: datetime | None,
    as_json: bool,
    database_url: str | None,
) -> None:
    """Revoke and report; the keys stop working on the next request."""
    with open_session(database_url, as_json) as session:
        revoked = agents.revoke_subject_keys(
            session, command_clock(at), admin_actor(), kind, subject_id, key_id
        )
    doc = {"kind": kind, "subject": subject_id, "key_id": key_id, "revoked": revoked}
    emit(
        doc,
        as_json,
        lambda d: (
            f"revoked {d['revoked']} key(s) of {d['kind']} {d['subject']}; "
            "they stop working at once"
        ),
    )
