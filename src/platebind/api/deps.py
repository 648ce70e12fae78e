"""Request dependencies: the clock, the unit of work, the caller's identity and request id.

The session dependency is function-scoped: its commit runs before the response is sent, so a
failed commit can never be answered 2xx.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.db import transaction
from platebind.errors import DomainError
from platebind.registry import agents
from platebind.registry.audit import Actor


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Missing or unknown API key"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    title = "This key may not do that"
    status = 403


async def get_clock(request: Request) -> Clock:
    # async: a sync dependency costs a thread-pool hand-off per request, for no I/O here.
    clock: Clock = request.app.state.clock
    return clock


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed before the response, rolled back on error."""
    with transaction(request.app.state.session_factory) as session:
        yield session


def read_session(request: Request) -> Iterator[Session]:
    """A read transaction (SQLite: no write lock)."""
    with transaction(request.app.state.read_session_factory) as session:
        yield session


def request_id(request: Request) -> str:
    """Set by the ``RequestContext`` middleware (generated there when the client sent none)."""
    rid: str = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    return rid


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's kind (agent, lot, warden), whose it is, and the key id."""

    kind: str
    subject_id: str
    key_id: str
    request_id: str
    subject_status: str = "active"

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, self.subject_id, self.request_id)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send the API key as 'Authorization: Bearer <key>'")
    return token.strip()


def principal(request: Request) -> Principal:
    """The caller behind the bearer key; 401 for a missing or unknown key.

    Checked in its own short read transaction, before the route's unit of work begins.
    """
    presented = _bearer(request)
    with transaction(request.app.state.read_session_factory) as session:
        key = agents.authenticate(session, presented)
        if key is None:
            raise Unauthenticated("the API key is unknown or revoked")
        status = (
            agents.get_agent(session, key.subject_id).status if key.kind == "agent" else "active"
        )
        return Principal(key.kind, key.subject_id, key.id, request_id(request), status)


async def agent_principal(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    """An agent's key, of an agent allowed to act (403 when suspended or offboarded).

    async, like ``get_clock``: no I/O here, and a sync dependency costs a thread-pool hand-off
    on every agent request."""
    if caller.kind != "agent":
        raise Forbidden("this operation is for payment agents' keys")
    if caller.subject_status != "active":
        raise Forbidden(
            f"agent {caller.subject_id} is {caller.subject_status}",
            agent_status=caller.subject_status,
        )
    return caller


WriteSession = Annotated[Session, Depends(db_session, scope="function")]
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
AgentCaller = Annotated[Principal, Depends(agent_principal)]
Caller = Annotated[Principal, Depends(principal)]
ClockDep = Annotated[Clock, Depends(get_clock)]
