"""Agents' charge and statement routes (``/v1/charges``, ``/v1/statements``).

Thin: parse, call one service function, render. An agent only ever sees its own charges and
statements; another agent's charge is answered 404, exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from platebind.api.deps import AgentCaller, ClockDep, ReadSession, WriteSession
from platebind.api.docs import problem_response, problems
from platebind.api.idempotency import IdempotencyKey, fingerprint, run_once
from platebind.billing import charges, reconcile, repository, statements
from platebind.billing.schemas import (
    ChargeOut,
    ChargePage,
    ChargeStatus,
    ReconcileReport,
    SettleRequest,
    StatementOut,
)
from platebind.db import transaction

router = APIRouter(tags=["charges and statements"])
CSV = "text/csv"

_NO_CHARGE = problem_response(
    404, "`charge_not_found`: no such charge for this key (another agent's included)."
)
_SETTLED = problem_response(
    409, "`charge_already_settled`: the charge was settled with the other outcome."
)
_BAD_SETTLE = problem_response(
    422,
    "`validation_error`, `invalid_input` (a `paid` outcome without `reference`), "
    "`idempotency_key_reused`.",
)
_BAD_QUERY = problem_response(
    422, "`validation_error`, `invalid_input` (a `cursor` not from this API)."
)
_BAD_DAY = problem_response(
    422,
    "`validation_error`, `statement_day_unavailable` (a day before 2000 or not yet begun in "
    "Taipei).",
)
_BAD_UPLOAD = problem_response(
    422,
    "`validation_error`, `statement_day_unavailable`, `statement_csv_invalid` (with `errors` "
    "by line), `idempotency_key_reused`.",
)


@router.get(
    "/charges",
    response_model=ChargePage,
    summary="List the calling agent's charges",
    responses={**problems(401, 403), **_BAD_QUERY},
)
def list_charges(
    caller: AgentCaller,
    session: ReadSession,
    status: ChargeStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=repository.MAX_PAGE)] = 50,
) -> ChargePage:
    """Oldest first; `status=requested` is what is waiting for your answer. Continue with
    `cursor = next_cursor`."""
    rows, next_cursor = repository.list_charges(
        session, agent_id=caller.subject_id, status=status, cursor=cursor, limit=limit
    )
    return ChargePage(items=[ChargeOut.of(c) for c in rows], next_cursor=next_cursor)


@router.get(
    "/charges/{charge_id}",
    response_model=ChargeOut,
    summary="One of the calling agent's charges",
    responses={**problems(401, 403), **_NO_CHARGE, **problem_response(422, "`validation_error`.")},
)
def get_charge(charge_id: uuid.UUID, caller: AgentCaller, session: ReadSession) -> ChargeOut:
    return ChargeOut.of(charges.get_charge(session, charge_id, caller.subject_id))


@router.post(
    "/charges/{charge_id}/settle",
    response_model=ChargeOut,
    summary="Answer a charge: paid (with your reference) or declined",
    responses={**problems(401, 403), **_NO_CHARGE, **_SETTLED, **_BAD_SETTLE},
)
def settle_charge(
    charge_id: uuid.UUID,
    body: SettleRequest,
    request: Request,
    caller: AgentCaller,
    session: WriteSession,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """`paid` needs your payment `reference`; `declined` makes the amount an unpaid bill of
    the plate, which its owner sees and pays in the portal. The same answer again returns the
    charge unchanged; the other answer on a settled charge is `charge_already_settled`."""

    def work() -> tuple[int, dict[str, Any]]:
        charge = charges.settle(
            session,
            clock.now(),
            caller.subject_id,
            charge_id,
            body.outcome,
            body.reference,
            body.reason,
            actor=caller.actor,
        )
        return 200, ChargeOut.of(charge).model_dump(mode="json")

    request_hash = fingerprint("POST", request.url.path, body)
    return run_once(session, caller, idempotency_key, request_hash, work)


# ---------------------------------------------------------------------------------------------
# Statements


def wants_csv(accept: str | None) -> bool:
    """Whether ``Accept`` prefers CSV: ``text/csv`` (or ``text/*``) with a quality above
    ``application/json``'s and at least that of ``*/*``. JSON otherwise (also by default)."""
    csv_q = json_q = any_q = 0.0
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in (CSV, "text/*"):
            csv_q = max(csv_q, q)
        elif media == "application/json":
            json_q = max(json_q, q)
        elif media in ("*/*", "application/*"):
            any_q = max(any_q, q)
    return csv_q > 0 and csv_q > json_q and csv_q >= any_q


@router.get(
    "/statements/{date}",
    response_model=StatementOut,
    response_class=StreamingResponse,
    summary="The calling agent's settlement statement of a Taipei day, as JSON or CSV",
    responses={
        200: {
            "description": "JSON (the default) or, with `Accept: text/csv`, CSV: a header row, "
            "then one row per line in the order of the JSON `lines`.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/StatementOut"}},
                CSV: {"schema": {"type": "string"}},
            },
        },
        **problems(401, 403),
        **_BAD_DAY,
    },
)
def get_statement(
    date: dt.date,
    request: Request,
    caller: AgentCaller,
    clock: ClockDep,
) -> StreamingResponse:
    """Every settle event of the day 00:00–24:00 Taipei time: charges paid, charges declined
    (billed to the plate instead) and corrections, in the order they happened. A line never
    moves to another day, so once `final` the statement never changes. Streamed."""
    statement = statements.statement_of(caller.subject_id, date, clock.now())
    media = "csv" if wants_csv(request.headers.get("accept")) else "json"
    factory = request.app.state.read_session_factory
    if media == "csv":
        name = f"{caller.subject_id}-{date.isoformat()}.csv"
        return StreamingResponse(
            _streamed(factory, statement, media),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return StreamingResponse(_streamed(factory, statement, media), media_type="application/json")


def _streamed(
    factory: sessionmaker[Session], statement: statements.Statement, media: str
) -> Iterator[bytes]:
    with transaction(factory) as session:
        yield from statements.stream(session, statement, media)


@router.post(
    "/statements/{date}/reconcile",
    response_model=ReconcileReport,
    summary="Compare your own list of a day's lines (CSV) with the statement",
    responses={**problems(401, 403), **_BAD_UPLOAD},
)
def reconcile_statement(
    date: dt.date,
    body: Annotated[
        bytes,
        Body(
            media_type=CSV,
            description="Your lines as CSV with a header row: `charge_id`, `kind`, `amount` "
            "at least; `at`, `reference` and `plate` are compared too when present. The "
            "statement's own CSV is accepted as it is.",
        ),
    ],
    request: Request,
    caller: AgentCaller,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Lines are matched by `charge_id` and `kind`: `missing` are ours you lack, `extra` are
    yours we lack (`found_on` names the day we have one on), `mismatched` differ in a
    compared column."""
    upload = reconcile.parse_upload(body)
    statement = statements.statement_of(caller.subject_id, date, clock.now())
    state = request.app.state

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        return 200, reconcile.reconcile(session, statement, upload).model_dump(mode="json")

    if idempotency_key is None:  # a read: no write lock while a large upload is compared
        with transaction(state.read_session_factory) as session:
            _, doc = work(session)
        return Response(orjson.dumps(doc), media_type="application/json")
    request_hash = hashlib.sha256(f"POST {request.url.path}\n".encode() + body).hexdigest()
    with transaction(state.session_factory) as session:
        return run_once(session, caller, idempotency_key, request_hash, lambda: work(session))
