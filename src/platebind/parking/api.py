"""Lots' gate routes (``/v1/lots/{lot_id}/events``, ``.../sessions/{id}/close``) and
``/v1/sessions/{id}``.

Thin: parse, call one service function, render. A lot's key acts only for its own lot (403
for another lot, 404 for a lot that does not exist); a session is seen by its lot and, when
card-free, by its agent — anyone else's is answered 404, exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from platebind.api.deps import Caller, ClockDep, Forbidden, Principal, ReadSession, WriteSession
from platebind.api.docs import problem_response, problems
from platebind.api.idempotency import IdempotencyKey, fingerprint, run_once
from platebind.db import transaction
from platebind.parking import gates, keys, sessions
from platebind.parking.keys import LOT_KEY
from platebind.parking.schemas_gate import CloseIn, DecisionOut, EventIn, SessionOut

router = APIRouter(tags=["gates"])

LotId = Annotated[str, Path(min_length=1, max_length=32, description="The lot's id, e.g. TPE0001.")]

_FORBIDDEN = problem_response(
    403,
    "`forbidden`: not a lot's key, or another lot's key (a suspended or offboarded agent's key "
    "too, where agents may read).",
)
_NO_LOT = problem_response(404, "`lot_not_found`: no such lot.")
_NO_SESSION = problem_response(
    404,
    "`lot_not_found`, `session_not_found`: no such session for this key (another lot's or "
    "agent's included).",
)
_BAD_EVENT = problem_response(
    422,
    "`validation_error` (with `errors` naming each field), `event_id_reused` (the lot posted "
    "this event id with another read), `event_time_invalid` (`at` more than a year from now), "
    "`invalid_input`.",
)
_BAD_CLOSE = problem_response(
    422,
    "`validation_error`, `invalid_input` (an unpaid exit of 0 TWD), `idempotency_key_reused`.",
)


async def lot_caller(lot_id: LotId, request: Request, caller: Caller) -> Principal:
    """A lot's key, acting for its own lot.

    async: the usual answer needs no I/O, and a sync dependency would cost a thread-pool
    hand-off on every gate event; only the rare refusal goes to a thread for its look-up."""
    if caller.kind != LOT_KEY:
        raise Forbidden("this operation is for lot operators' keys")
    if caller.subject_id != lot_id:
        # Rare, so its look-up costs nothing on the hot path: another lot is 403, none 404.
        await run_in_threadpool(_check_lot, request, lot_id)
        raise Forbidden(f"this key is lot {caller.subject_id}'s; it cannot act for {lot_id}")
    return caller


def _check_lot(request: Request, lot_id: str) -> None:
    with transaction(request.app.state.read_session_factory) as session:
        keys.check_lot(session, lot_id)


LotCaller = Annotated[Principal, Depends(lot_caller)]


@router.post(
    "/lots/{lot_id}/events",
    response_model=DecisionOut,
    summary="An LPR event at one of the lot's gates: the gate's decision",
    responses={**problems(401), **_FORBIDDEN, **_NO_LOT, **_BAD_EVENT},
)
def post_event(
    lot_id: LotId, body: EventIn, caller: LotCaller, session: WriteSession, clock: ClockDep
) -> Response:
    """Entry: `open` (card-free: the plate is bound in the lot's scope at `at` to an active
    agent), `ticket`, or `attendant` (not a valid plate, or `confidence` under the lot's
    threshold). Exit: the fee from the lot's tariff; card-free → a charge to the agent bound
    at entry and `open`; otherwise `pay` with `amount`; no open session (also allowing the
    usual LPR confusions) or no fully read tariff → `attendant`.

    Idempotent by (`lot_id`, `event_id`): a repeat is answered with the first decision, byte
    for byte (header `Idempotent-Replayed: true`), and changes nothing."""
    answer = gates.post_event(session, clock, lot_id, body)
    response = Response(answer.body, media_type="application/json")
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.post(
    "/lots/{lot_id}/sessions/{session_id}/close",
    response_model=SessionOut,
    summary="An attendant's close of a session: paid at the station, or unpaid (a bill)",
    responses={
        **problems(401),
        **_FORBIDDEN,
        **_NO_SESSION,
        **problem_response(409, "`session_closed`: already closed with another outcome or amount."),
        **_BAD_CLOSE,
    },
)
def close_session(
    lot_id: LotId,
    session_id: uuid.UUID,
    body: CloseIn,
    request: Request,
    caller: LotCaller,
    session: WriteSession,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Close a session the gate did not settle (`exiting`: waiting for the pay station or an
    attendant, or still `open`). `unpaid`: the plate gets an unpaid bill of `amount`, which
    its owner sees and can pay in the portal. Closing again the same way returns the session
    unchanged; another way is `session_closed` (409)."""

    def work() -> tuple[int, dict[str, Any]]:
        row = sessions.close_session(
            session,
            clock,
            caller.actor,
            lot_id=lot_id,
            session_id=session_id,
            outcome=body.outcome,
            amount=body.amount,
        )
        return 200, SessionOut.of(row).model_dump(mode="json")

    request_hash = fingerprint("POST", request.url.path, body)
    return run_once(session, caller, idempotency_key, request_hash, work)


@router.get(
    "/sessions/{session_id}",
    response_model=SessionOut,
    summary="One parking session: a lot's own, or an agent's card-free one",
    responses={
        **problems(401),
        **_FORBIDDEN,
        **_NO_SESSION,
        **problem_response(422, "`validation_error`: not a session id."),
    },
)
def get_session(session_id: uuid.UUID, caller: Caller, session: ReadSession) -> SessionOut:
    if caller.kind == LOT_KEY:
        row = sessions.get_session(session, session_id, lot_id=caller.subject_id)
    elif caller.kind == "agent":
        if caller.subject_status != "active":
            raise Forbidden(f"agent {caller.subject_id} is {caller.subject_status}")
        row = sessions.get_session(session, session_id, agent_id=caller.subject_id)
    else:
        raise Forbidden("this operation is for lots' and agents' keys")
    return SessionOut.of(row)
