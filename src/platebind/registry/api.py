"""Agents' binding and change-feed routes (``/v1/bindings``, ``/v1/scopes/...``).

Thin: parse, call one service function, render. An agent only ever sees its own bindings; a
binding of another agent is answered 404, exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from platebind.api.deps import AgentCaller, ClockDep, ReadSession, WriteSession
from platebind.api.docs import problems
from platebind.api.idempotency import IdempotencyKey, fingerprint, run_once
from platebind.clock import taipei_iso
from platebind.db import transaction
from platebind.plates import TariffClass, binding_type, normalise_plate
from platebind.registry import feed, queries, repository, service
from platebind.registry.rules import BindingStatus
from platebind.registry.schemas import (
    BindingPage,
    BindingResponse,
    BindRequest,
    ChangeOut,
    ChangePage,
)
from platebind.registry.scopes import get_scope

router = APIRouter(tags=["bindings"])
MAX_SEQ = 2**63 - 1  # the feed's seq is a 64-bit integer


@router.post(
    "/bindings",
    status_code=201,
    response_model=BindingResponse,
    summary="Bind a plate to the calling agent",
    responses={
        200: {"model": BindingResponse, "description": "The agent already holds the plate."},
        **problems(401, 403, 404, 409, 422, 429),
    },
)
def create_binding(
    body: BindRequest,
    request: Request,
    caller: AgentCaller,
    session: WriteSession,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Bind `plate` in `scope` to the calling agent. The answer says exactly when it takes
    effect (`effective_at`). With the owner's `transfer_code` the plate moves from another
    agent at the next cut-over with no gap."""

    def work() -> tuple[int, dict[str, Any]]:
        result = service.bind(
            session,
            clock,
            caller.actor,
            agent_id=caller.subject_id,
            scope_id=body.scope,
            vehicle_type=body.vehicle_type,
            plate=body.plate,
            transfer_code=body.transfer_code,
        )
        out = BindingResponse.of(result.binding, clock.now(), result.effective_at)
        return (201 if result.created else 200), out.model_dump(mode="json")

    request_hash = fingerprint("POST", request.url.path, body)
    return run_once(session, caller, idempotency_key, request_hash, work)


@router.get(
    "/bindings",
    response_model=BindingPage,
    summary="List the calling agent's bindings",
    responses=problems(401, 403, 422),
)
def list_bindings(
    caller: AgentCaller,
    session: ReadSession,
    clock: ClockDep,
    scope: str | None = None,
    plate: str | None = None,
    vehicle_type: TariffClass | None = None,
    status: BindingStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=repository.MAX_PAGE)] = 50,
) -> BindingPage:
    rows, next_cursor = repository.list_bindings(
        session,
        agent_id=caller.subject_id,
        at=clock.now(),
        scope_id=scope,
        vehicle_type=binding_type(vehicle_type).value if vehicle_type else None,
        plate=normalise_plate(plate) if plate else None,
        status=status,
        cursor=cursor,
        limit=limit,
    )
    now = clock.now()
    return BindingPage(items=[BindingResponse.of(b, now) for b in rows], next_cursor=next_cursor)


@router.get(
    "/bindings/{binding_id}",
    response_model=BindingResponse,
    summary="One of the calling agent's bindings",
    responses=problems(401, 403, 404, 422),
)
def get_binding(
    binding_id: uuid.UUID, caller: AgentCaller, session: ReadSession, clock: ClockDep
) -> BindingResponse:
    binding = queries.get_binding(session, binding_id, caller.subject_id)
    return BindingResponse.of(binding, clock.now())


@router.delete(
    "/bindings/{binding_id}",
    status_code=202,
    response_model=BindingResponse,
    summary="Unbind: end the binding at the next cut-over",
    responses=problems(401, 403, 404, 422),
)
def delete_binding(
    binding_id: uuid.UUID,
    request: Request,
    caller: AgentCaller,
    session: WriteSession,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """End the binding at the scope's next cut-over (`valid_to`, also in `effective_at`); a
    binding that has not started by then is cancelled. Unbinding again returns the same end."""

    def work() -> tuple[int, dict[str, Any]]:
        ended = service.unbind(
            session, clock, caller.actor, agent_id=caller.subject_id, binding_id=binding_id
        )
        out = BindingResponse.of(ended.binding, clock.now(), ended.effective_at)
        return 202, out.model_dump(mode="json")

    request_hash = fingerprint("DELETE", request.url.path)
    return run_once(session, caller, idempotency_key, request_hash, work)


@router.get(
    "/scopes/{scope}/changes",
    response_model=ChangePage,
    summary="The change feed of a scope (the agent's own bindings)",
    responses=problems(401, 403, 404, 422),
)
def list_changes(
    scope: str,
    caller: AgentCaller,
    session: ReadSession,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_PAGE)] = 100,
) -> Response:
    """Changes with `seq > after`, in order. An agent reads only its own bindings' changes, so
    gaps in `seq` are normal; continue with `after = next_after`."""
    rows = feed.changes(session, scope, after, limit, agent_id=caller.subject_id)
    page = ChangePage(
        scope=scope,
        changes=[ChangeOut.of(c, with_agent=True) for c in rows],
        next_after=rows[-1].seq if rows else after,
        has_more=len(rows) == limit,
    )
    # Serialised once by pydantic: returning the model would make FastAPI validate the whole
    # page again against response_model (which stays, for the documentation).
    return Response(page.model_dump_json(), media_type="application/json")


@router.get(
    "/scopes/{scope}/snapshot",
    summary="Every live binding of a scope, streamed as NDJSON",
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "A header line `{scope, seq, at}` then one binding per line.",
        },
        **problems(401, 403, 404, 422),
    },
    response_class=StreamingResponse,
)
def snapshot(
    scope: str, request: Request, caller: AgentCaller, clock: ClockDep
) -> StreamingResponse:
    """The bindings not over now and the `seq` they are consistent with; continue with
    `/changes?after=seq`. Read in one consistent transaction and streamed in constant memory."""
    factory = request.app.state.read_session_factory
    with transaction(factory) as session:
        get_scope(session, scope)  # a 404 must come before the stream starts
    return StreamingResponse(
        _snapshot_lines(factory, scope, caller.subject_id, clock.now()),
        media_type="application/x-ndjson",
    )


def _snapshot_lines(
    factory: sessionmaker[Session], scope: str, agent_id: str, now: datetime
) -> Iterator[bytes]:
    with transaction(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        snap = feed.snapshot(session, scope, now, agent_id=agent_id)
        header = {"scope": scope, "seq": snap.seq, "at": taipei_iso(now)}
        yield orjson.dumps(header) + b"\n"
        for binding in snap.bindings:
            line = BindingResponse.of(binding, now).model_dump(mode="json")
            yield orjson.dumps(line) + b"\n"
