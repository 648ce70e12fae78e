"""Agents (payment service providers), their accreditation per scope and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.errors import InvalidInput
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.registry.errors import AgentNotFound, AlreadyExists, KeyNotFound
from platebind.registry.models import Accreditation, Agent, ApiKey
from platebind.registry.scopes import get_scope

AGENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
KEY_PREFIX = "pbk"


@dataclass(frozen=True)
class AgentProfile:
    """What the portal shows drivers about an agent."""

    name_en: str | None = None
    support_phone: str | None = None
    support_url: str | None = None
    unbind_instructions: str | None = None
    unbind_url: str | None = None


def _hash_secret(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough; no salt or KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(session: Session, clock: Clock, kind: str, subject_id: str) -> str:
    """Create a key and return it; only its hash is kept, so it is shown once."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            id=key_id,
            kind=kind,
            subject_id=subject_id,
            secret_hash=_hash_secret(secret),
            created_at=clock.now(),
        )
    )
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def authenticate(session: Session, presented: str) -> ApiKey | None:
    """The live key matching ``presented``, compared in constant time; None otherwise."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = session.get(ApiKey, parts[1])
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash_secret(parts[2])):
        return None
    return key


def revoke_keys(
    session: Session, clock: Clock, kind: str, subject_id: str, key_id: str | None = None
) -> int:
    """Revoke the subject's live keys (only ``key_id``, the part after ``pbk_``, if given);
    how many were revoked. Takes effect on the next request: keys are not cached."""
    stmt = update(ApiKey).where(
        ApiKey.kind == kind, ApiKey.subject_id == subject_id, ApiKey.revoked_at.is_(None)
    )
    if key_id is not None:
        stmt = stmt.where(ApiKey.id == key_id)
    result = session.execute(stmt.values(revoked_at=clock.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def revoke_subject_keys(
    session: Session, clock: Clock, actor: Actor, kind: str, subject_id: str, key_id: str | None
) -> int:
    """Revoke an agent's, lot's or warden's keys (one, or all), audited; ``key_not_found``
    when none was live."""
    revoked = revoke_keys(session, clock, kind, subject_id, key_id)
    if revoked == 0:
        which = f"key {key_id!r}" if key_id is not None else "key"
        raise KeyNotFound(f"{kind} {subject_id!r} has no live {which}")
    audit.record(session, actor, clock.now(), f"{kind}.key_revoke", object_id=subject_id)
    return revoked


def add_agent(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    agent_id: str,
    name: str,
    scopes: list[str],
    profile: AgentProfile | None = None,
) -> tuple[Agent, str]:
    """Register and accredit an agent; returns it with its first API key."""
    if not AGENT_ID.match(agent_id):
        raise InvalidInput(f"agent id {agent_id!r} must be 2-40 lower-case letters, digits or -")
    if not name.strip():
        raise InvalidInput("agent name must not be empty")
    if session.get(Agent, agent_id) is not None:
        raise AlreadyExists(f"agent {agent_id} already exists")
    for scope_id in scopes:
        get_scope(session, scope_id)
    profile = profile or AgentProfile()
    agent = Agent(
        id=agent_id,
        name=name.strip(),
        name_en=profile.name_en,
        support_phone=profile.support_phone,
        support_url=profile.support_url,
        unbind_instructions=profile.unbind_instructions,
        unbind_url=profile.unbind_url,
        status="active",
    )
    session.add(agent)
    session.flush()  # no ORM relationships, so the agent row must exist before its children
    session.add_all(Accreditation(agent_id=agent_id, scope_id=s) for s in dict.fromkeys(scopes))
    key = issue_key(session, clock, "agent", agent_id)
    audit.record(
        session, actor, clock.now(), "agent.add", object_id=agent_id, detail={"scopes": scopes}
    )
    return agent, key


def get_agent(session: Session, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise AgentNotFound(f"no agent {agent_id!r}")
    return agent


def list_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.id)))


def accredited_scopes(session: Session, agent_id: str) -> list[str]:
    stmt = select(Accreditation.scope_id).where(Accreditation.agent_id == agent_id)
    return sorted(session.scalars(stmt))


def is_accredited(session: Session, agent_id: str, scope_id: str) -> bool:
    return session.get(Accreditation, (agent_id, scope_id)) is not None


def add_key(session: Session, clock: Clock, actor: Actor, agent_id: str) -> str:
    """Another key; the old ones keep working until revoked (a rotation with overlap: the
    agent deploys the new key, then the authority revokes the old one)."""
    get_agent(session, agent_id)
    key = issue_key(session, clock, "agent", agent_id)
    audit.record(session, actor, clock.now(), "agent.key_issue", object_id=agent_id)
    return key


def rotate_key(session: Session, clock: Clock, actor: Actor, agent_id: str) -> str:
    """A new key; the old ones stop working at once (rotate after a leak, not on a schedule
    that needs overlap)."""
    get_agent(session, agent_id)
    revoke_keys(session, clock, "agent", agent_id)
    key = issue_key(session, clock, "agent", agent_id)
    audit.record(session, actor, clock.now(), "agent.key_rotate", object_id=agent_id)
    return key


def set_agent_status(
    session: Session, clock: Clock, actor: Actor, agent_id: str, status: str
) -> Agent:
    if status not in ("active", "suspended"):
        raise InvalidInput(
            f"status {status!r} must be active or suspended (offboard ends bindings)"
        )
    agent = get_agent(session, agent_id)
    if agent.status == "offboarded":
        raise InvalidInput(f"agent {agent_id} is offboarded and cannot change status")
    if agent.status != status:
        agent.status = status
        audit.record(session, actor, clock.now(), f"agent.{status}", object_id=agent_id)
    return agent
