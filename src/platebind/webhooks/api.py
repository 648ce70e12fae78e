"""Webhook endpoint and delivery routes (``/v1/webhook-endpoint``, ``/v1/webhooks/...``).

Thin: parse, call one service function, render. An agent sees only its own deliveries; another
agent's is answered 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from platebind.api.deps import AgentCaller, ClockDep, ReadSession, WriteSession
from platebind.api.docs import problem_response, problems
from platebind.api.idempotency import IdempotencyKey, fingerprint, run_once
from platebind.webhooks import service
from platebind.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    DeliveryStatus,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
)

router = APIRouter(tags=["webhooks"])


_NO_ENDPOINT = problem_response(
    404, "`webhook_endpoint_not_set`: the agent has not set an endpoint."
)
_NO_DELIVERY = problem_response(
    404, "`delivery_not_found`: no such delivery for this key (another agent's included)."
)
_BAD_URL = problem_response(
    422, "`invalid_webhook_url` (not an absolute http(s) URL with a host), `validation_error`."
)
_BAD_QUERY = problem_response(
    422, "`validation_error`, `invalid_input` (a `cursor` not from this API)."
)


@router.put(
    "/webhook-endpoint",
    response_model=WebhookEndpointCreated,
    summary="Set the calling agent's webhook endpoint (and get a new signing secret)",
    responses={**problems(401, 403), **_BAD_URL},
)
def put_endpoint(
    body: WebhookEndpointIn, caller: AgentCaller, session: WriteSession, clock: ClockDep
) -> WebhookEndpointCreated:
    """Events are POSTed to `url`, signed per Standard Webhooks with the `secret` in this
    answer, which is shown only here. Setting the endpoint again rotates the secret."""
    endpoint, secret = service.set_endpoint(
        session, clock, caller.actor, caller.subject_id, body.url
    )
    return WebhookEndpointCreated(url=endpoint.url, secret=secret)


@router.get(
    "/webhook-endpoint",
    response_model=WebhookEndpointOut,
    summary="The calling agent's webhook endpoint (without its secret)",
    responses={**problems(401, 403), **_NO_ENDPOINT},
)
def get_endpoint(caller: AgentCaller, session: ReadSession) -> WebhookEndpointOut:
    return WebhookEndpointOut.of(service.get_endpoint(session, caller.subject_id))


@router.get(
    "/webhooks/deliveries",
    response_model=DeliveryPage,
    summary="The calling agent's events and their delivery attempts, newest first",
    responses={**problems(401, 403), **_BAD_QUERY},
)
def list_deliveries(
    caller: AgentCaller,
    session: ReadSession,
    status: DeliveryStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> DeliveryPage:
    events, next_cursor = service.list_deliveries(
        session, caller.subject_id, status=status, cursor=cursor, limit=limit
    )
    attempts = service.attempts_of(session, [e.id for e in events])
    items = [DeliveryOut.of(e, attempts.get(e.id, [])) for e in events]
    return DeliveryPage(items=items, next_cursor=next_cursor)


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send an event again (pending at once, with a fresh attempt budget)",
    responses={
        **problems(401, 403),
        **_NO_DELIVERY,
        **problem_response(422, "`validation_error`."),
    },
)
def redeliver(
    delivery_id: str,
    request: Request,
    caller: AgentCaller,
    session: WriteSession,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """`delivery_id` is the event's `webhook-id` (`evt_42`). It keeps that id, so the
    receiver can recognise a redelivery. Attempts already made stay in `attempt_log`."""

    def work() -> tuple[int, dict[str, Any]]:
        event = service.redeliver(session, clock, caller.actor, caller.subject_id, delivery_id)
        attempts = service.attempts_of(session, [event.id]).get(event.id, [])
        return 202, DeliveryOut.of(event, attempts).model_dump(mode="json")

    request_hash = fingerprint("POST", request.url.path)
    return run_once(session, caller, idempotency_key, request_hash, work)
