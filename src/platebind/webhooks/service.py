"""The outbox (events appended in the writer's transaction), agents' webhook endpoints and their
view of deliveries. Claiming and sending live in ``dispatcher``."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.db import created_at_default, dialect_insert
from platebind.errors import DomainError, InvalidInput, NotFound
from platebind.registry import agents, audit
from platebind.registry.audit import Actor
from platebind.webhooks.models import OutboxEvent, WebhookAttempt, WebhookEndpoint
from platebind.webhooks.signing import event_id_of, new_secret, parse_event_id

MAX_URL_LENGTH = 2000
MAX_PAGE = 200
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class InvalidWebhookUrl(DomainError):
    code = "invalid_webhook_url"
    title = "Invalid webhook URL"
    status = 422


class WebhookEndpointNotSet(NotFound):
    code = "webhook_endpoint_not_set"
    title = "No webhook endpoint is set"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    title = "No such delivery"


# ---------------------------------------------------------------------------------------------
# The outbox


def emit(
    session: Session,
    *,
    event_type: str,
    object_id: str,
    effective_at: datetime,
    agent_id: str,
    payload: dict[str, Any],
    now: datetime,
    once: bool = False,
) -> None:
    """Append an event to the outbox, due for delivery at ``now`` (the writer's clock, so a
    dispatcher on the same clock sends it: the system clock in production, a test's clock).

    ``once``: skip it if the same (event type, object, effective time) is already there, so a
    job that re-runs after a crash emits nothing twice. Writers of fresh events leave it off:
    a plain insert joins the transaction's one flush instead of costing a round trip now.
    """
    values = {
        "event_type": event_type,
        "object_id": object_id,
        "effective_at": effective_at,
        "agent_id": agent_id,
        "payload": payload,
        "next_attempt_at": now,
    }
    if not once:
        session.add(OutboxEvent(**values))
        return
    insert = dialect_insert(session)(OutboxEvent).values(**values, created_at=created_at_default())
    session.execute(insert.on_conflict_do_nothing())


def events_for(session: Session, agent_id: str | None = None) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).order_by(OutboxEvent.id)
    if agent_id is not None:
        stmt = stmt.where(OutboxEvent.agent_id == agent_id)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Endpoints


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host, or ``invalid_webhook_url``."""
    url = url.strip()
    problem = _url_problem(url)
    if problem is not None:
        raise InvalidWebhookUrl(f"webhook URL {url[:100]!r} {problem}", field="url")
    return url


def _url_problem(url: str) -> str | None:
    if not url or len(url) > MAX_URL_LENGTH:
        return f"must be 1-{MAX_URL_LENGTH} characters"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number 0-65535
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "must start with https:// or http://"
    if not parts.hostname:
        return "must name a host"
    return None


def redacted_url(url: str) -> str:
    """``url`` without any user:password, for the audit log."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"***@{netloc}"))


def set_endpoint(
    session: Session, clock: Clock, actor: Actor, agent_id: str, url: str
) -> tuple[WebhookEndpoint, str]:
    """Set where the agent's events go, with a new signing secret (returned, shown once).

    Setting it again rotates the secret: events not yet sent are signed with the new one.
    """
    url = check_url(url)
    agents.get_agent(session, agent_id)
    now = clock.now()
    secret = new_secret()
    values = {"url": url, "secret": secret, "updated_at": now}
    stmt = (
        dialect_insert(session)(WebhookEndpoint)
        .values(agent_id=agent_id, created_at=now, **values)
        .on_conflict_do_update(index_elements=[WebhookEndpoint.agent_id], set_=values)
    )
    session.execute(stmt)
    audit.record(
        session,
        actor,
        now,
        "webhook.endpoint_set",
        object_id=agent_id,
        detail={"url": redacted_url(url)},  # never the secret
    )
    endpoint = session.get(WebhookEndpoint, agent_id, populate_existing=True)
    assert endpoint is not None
    return endpoint, secret


def get_endpoint(session: Session, agent_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, agent_id)
    if endpoint is None:
        raise WebhookEndpointNotSet(
            f"agent {agent_id} has no webhook endpoint; set one with PUT /v1/webhook-endpoint"
        )
    return endpoint


# ---------------------------------------------------------------------------------------------
# Deliveries, as their agent sees them


def _encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"d{event_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    event_id = parse_event_id(raw[1:]) if raw[:1] == "d" else None
    if event_id is None:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return event_id


def list_deliveries(
    session: Session,
    agent_id: str,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[OutboxEvent], str | None]:
    """One page of the agent's events, newest first, and the cursor of the next page."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(DELIVERY_STATUSES)}", field="status")
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(OutboxEvent).where(OutboxEvent.agent_id == agent_id)
    if status is not None:
        stmt = stmt.where(OutboxEvent.status == status)
    if cursor is not None:
        stmt = stmt.where(OutboxEvent.id < _decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(OutboxEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode_cursor(rows[-1].id) if more else None)


def attempts_of(session: Session, event_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    """Each event's attempts, oldest first."""
    found: dict[int, list[WebhookAttempt]] = defaultdict(list)
    if event_ids:
        stmt = (
            select(WebhookAttempt)
            .where(WebhookAttempt.event_id.in_(event_ids))
            .order_by(WebhookAttempt.id)
        )
        for attempt in session.scalars(stmt):
            found[attempt.event_id].append(attempt)
    return found


def get_delivery(
    session: Session, agent_id: str, delivery_id: str, *, for_update: bool = False
) -> OutboxEvent:
    """The agent's event by its message id (``evt_42``); another agent's is not found."""
    event_id = event_id_of(delivery_id)
    event = (
        None if event_id is None else session.get(OutboxEvent, event_id, with_for_update=for_update)
    )
    if event is None or event.agent_id != agent_id:
        raise DeliveryNotFound(f"no delivery {delivery_id[:40]!r} for agent {agent_id}")
    return event


def redeliver(
    session: Session, clock: Clock, actor: Actor, agent_id: str, delivery_id: str
) -> OutboxEvent:
    """Send the event again as soon as a dispatcher is free, with a fresh attempt budget.

    The attempts already made stay in the log. An event in flight right now may be sent
    twice; receivers dedupe by ``webhook-id``, which stays the same.
    """
    event = get_delivery(session, agent_id, delivery_id, for_update=True)
    now = clock.now()
    event.status = "pending"
    event.attempts = 0
    event.next_attempt_at = now
    audit.record(session, actor, now, "webhook.redeliver", object_id=delivery_id)
    session.flush()
    return event
