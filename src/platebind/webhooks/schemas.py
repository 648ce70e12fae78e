"""Public shapes of webhook endpoints and deliveries (API and CLI).

Times are ISO-8601 in Taipei time with their offset, like every other answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from platebind.clock import TAIPEI
from platebind.webhooks.models import OutboxEvent, WebhookAttempt, WebhookEndpoint
from platebind.webhooks.signing import message_id

DeliveryStatus = Literal["pending", "delivered", "failed"]


def _local(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(TAIPEI)


class WebhookEndpointIn(BaseModel):
    """Where to send the calling agent's events."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://agent.example/platebind/webhooks"}]},
    )

    url: str = Field(description="An absolute `https://` (or `http://`) URL.")


class WebhookEndpointOut(BaseModel):
    url: str

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookEndpointOut:
        return cls(url=endpoint.url)


class WebhookEndpointCreated(WebhookEndpointOut):
    """The endpoint and its new signing secret, shown only in this answer."""

    secret: str = Field(
        description="Standard Webhooks secret (`whsec_...`) that signs every event from now "
        "on; shown once, and replaced each time the endpoint is set.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class AttemptOut(BaseModel):
    at: datetime
    url: str
    status_code: int | None = Field(description="The receiver's HTTP status; null if none came.")
    error: str | None = Field(description="Why the attempt failed; null on success.")
    duration_ms: int

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> AttemptOut:
        return cls(
            at=_local(attempt.at),
            url=attempt.url,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class DeliveryOut(BaseModel):
    """One event for the calling agent and how its delivery went."""

    id: str = Field(description="The `webhook-id` header of every attempt.", examples=["evt_42"])
    type: str = Field(examples=["binding.scheduled"])
    object_id: str
    status: DeliveryStatus
    attempts: int = Field(description="Attempts since the event was written or redelivered.")
    next_attempt_at: datetime | None = Field(
        description="While pending: not before this time (null once delivered or failed)."
    )
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any] = Field(description="The event body without `id` and `timestamp`.")
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first.")

    @classmethod
    def of(cls, event: OutboxEvent, attempts: list[WebhookAttempt]) -> DeliveryOut:
        pending = event.status == "pending"
        return cls(
            id=message_id(event.id),
            type=event.event_type,
            object_id=event.object_id,
            status=event.status,
            attempts=event.attempts,
            next_attempt_at=_local(event.next_attempt_at) if pending else None,
            delivered_at=_local(event.delivered_at),
            last_error=event.last_error,
            created_at=_local(event.created_at),
            payload=event.payload,
            attempt_log=[AttemptOut.of(a) for a in attempts],
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
