"""Wardens' and meters' route: ``POST /v1/roadside/bills``.

Thin: parse, call one service function, render. Only a warden's (or meter's) key may issue a
bill; an agent's or a lot's key is 403.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends
from fastapi.responses import Response

from platebind.api.deps import Caller, ClockDep, Forbidden, Principal, WriteSession
from platebind.api.docs import problem_response, problems
from platebind.roadside import issuing
from platebind.roadside.checking import BillRecord
from platebind.roadside.schemas import BillIn, RoadsideBillOut
from platebind.roadside.service import WARDEN_KEY

router = APIRouter(tags=["roadside"])


def warden_caller(caller: Caller) -> Principal:
    if caller.kind != WARDEN_KEY:
        raise Forbidden("this operation is for wardens' and meters' keys")
    return caller


WardenCaller = Annotated[Principal, Depends(warden_caller)]


@router.post(
    "/roadside/bills",
    response_model=RoadsideBillOut,
    status_code=201,
    summary="Issue a roadside bill (停車繳費單)",
    responses={
        200: {
            "model": RoadsideBillOut,
            "description": "A replay: this bill was issued before; its first answer.",
        },
        **problems(401),
        **problem_response(403, "`forbidden`: not a warden's or meter's key."),
        **problem_response(409, "`bill_no_reused`: the number was issued for another bill."),
        **problem_response(
            422,
            "`validation_error`, `invalid_plate`, `roadside_bill_invalid` (with the `field`: "
            "an unknown `segment`, a car without `amount` or `ended_at`, times out of order).",
        ),
    },
)
def issue_bill(
    body: BillIn, caller: WardenCaller, session: WriteSession, clock: ClockDep
) -> Response:
    """The bill is issued as the plate's unpaid bill (payable in the portal) and, when the
    plate is bound in the scope to an active agent at `issued_at` and the bill is within its
    due date, sent to that agent as a charge (`auto_pay`). A motorcycle's second bill of the
    same billing day is kept but `void`.

    Idempotent by `bill_no`: the same bill again is answered 200 with its first answer
    (header `Idempotent-Replayed: true`) and changes nothing."""
    record = BillRecord(
        **body.model_dump(mode="python", exclude={"vehicle_type"}),
        vehicle_type=body.vehicle_type.value,
    )
    result = issuing.issue_one(session, clock.now(), caller.actor, record)
    response = Response(
        orjson.dumps(result.answer),
        status_code=201 if result.new else 200,
        media_type="application/json",
    )
    if not result.new:
        response.headers["Idempotent-Replayed"] = "true"
    return response
