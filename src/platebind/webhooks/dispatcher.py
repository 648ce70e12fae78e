"""Delivering the outbox: claim due events, sign and POST them, record each attempt.

At least once, never twice at the same time: a claim (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite's write lock) moves the events' ``next_attempt_at`` forward by a lease in the
claiming transaction, so no other dispatcher sees them as due until that lease runs out. The
HTTP requests run outside any transaction; each result is recorded in a transaction of its own.
A dispatcher that dies mid-batch leaves its claims to expire, and another one sends them again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from platebind import __version__
from platebind.clock import Clock, SystemClock
from platebind.db import transaction
from platebind.webhooks.models import OutboxEvent, WebhookAttempt, WebhookEndpoint
from platebind.webhooks.signing import body_text, message_id, signed_headers

USER_AGENT = f"platebind-webhooks/{__version__}"
# Enough of a failed answer to tell why, not enough to fill the database.
EXCERPT_BYTES = 512
MAX_ERROR_CHARS = 1000

log = structlog.get_logger("platebind.webhooks")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard and how often to try. Defaults suit production; tests shrink them."""

    timeout: float = 10.0  # seconds, per connect / write / read of one request
    batch_size: int = 10
    lease: timedelta = timedelta(minutes=10)
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_factor: float = 2.0
    backoff_cap: timedelta = timedelta(hours=1)
    max_attempts: int = 12
    idle_sleep: float = 1.0  # seconds between polls when nothing is due
    parallel_agents: int = 8  # agents whose deliveries of one batch are sent side by side
    error_sleep: float = 5.0  # seconds to wait after the database failed

    def __post_init__(self) -> None:
        # A batch is sent one request after another; each may take a connect, a write and a
        # read timeout. The lease must outlast the batch, or another dispatcher would resend.
        worst_batch = self.batch_size * 3 * self.timeout
        if self.lease.total_seconds() <= worst_batch:
            raise ValueError(f"lease must exceed {worst_batch:g} s (batch_size x 3 x timeout)")
        if self.max_attempts < 1 or self.batch_size < 1 or self.parallel_agents < 1:
            raise ValueError("max_attempts, batch_size and parallel_agents must be at least 1")


def retry_delay(policy: DeliveryPolicy, attempts: int, rng: random.Random) -> timedelta:
    """Exponential back-off with full jitter after ``attempts`` failed attempts (1, 2, ...)."""
    ceiling = policy.backoff_base * policy.backoff_factor ** max(attempts - 1, 0)
    return min(ceiling, policy.backoff_cap) * rng.random()


@dataclass(frozen=True)
class Delivery:
    """A claimed event, with everything needed to send it once the transaction has ended."""

    event_id: int
    agent_id: str
    url: str
    secret: str
    body: str

    @property
    def message_id(self) -> str:
        return message_id(self.event_id)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.error is None


# ---------------------------------------------------------------------------------------------
# The three steps: claim (one transaction), send (no transaction), record (one transaction)


def claim_due(session: Session, now: datetime, limit: int, lease: timedelta) -> list[OutboxEvent]:
    """Claim up to ``limit`` pending events that are due and whose agent has an endpoint,
    oldest first, by moving their ``next_attempt_at`` to ``now + lease``.

    Rows another transaction is claiming are skipped, not waited for (PostgreSQL); SQLite
    serialises claims with its write lock (``BEGIN IMMEDIATE``).
    """
    stmt = (
        select(OutboxEvent)
        .join(WebhookEndpoint, WebhookEndpoint.agent_id == OutboxEvent.agent_id)
        .where(OutboxEvent.status == "pending", OutboxEvent.next_attempt_at <= now)
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxEvent)
    )
    events = list(session.scalars(stmt))
    for event in events:
        event.next_attempt_at = now + lease
    session.flush()
    return events


def claim_deliveries(session: Session, now: datetime, policy: DeliveryPolicy) -> list[Delivery]:
    """Claim due events and pair each with its own agent's endpoint as it is now."""
    events = claim_due(session, now, policy.batch_size, policy.lease)
    agent_ids = {event.agent_id for event in events}
    endpoints = {
        endpoint.agent_id: endpoint
        for endpoint in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.agent_id.in_(agent_ids))
        )
    }
    deliveries = []
    for event in events:
        endpoint = endpoints[event.agent_id]  # the claim's join guarantees it exists
        body = body_text(event.id, event.payload, event.created_at)
        deliveries.append(Delivery(event.id, event.agent_id, endpoint.url, endpoint.secret, body))
    return deliveries


def send(http: httpx.Client, delivery: Delivery, sent_at: datetime, timeout: float) -> Outcome:
    """POST one delivery, signed at ``sent_at``; any 2xx is success. Redirects are not
    followed (a redirect is a failure: the signed request must reach the URL the agent set)."""
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(delivery.secret, delivery.message_id, sent_at, delivery.body),
    }
    started = time.monotonic()
    try:
        with http.stream(
            "POST",
            delivery.url,
            content=delivery.body.encode(),
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            excerpt = _excerpt(response)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Outcome(None, _clip(f"{type(exc).__name__}: {exc}"), _ms_since(started))
    except Exception as exc:  # one odd receiver must not stop the others' deliveries
        log.exception("webhook send crashed", webhook_id=delivery.message_id)
        return Outcome(None, _clip(f"{type(exc).__name__}: {exc}"), _ms_since(started))
    elapsed = _ms_since(started)
    if response.is_success:
        return Outcome(response.status_code, None, elapsed)
    error = f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else "")
    return Outcome(response.status_code, _clip(error), elapsed)


def _excerpt(response: httpx.Response) -> str:
    """The start of the answer's body (the rest is not read: the connection is dropped)."""
    chunk = b""
    for piece in response.iter_bytes():
        chunk += piece
        if len(chunk) >= EXCERPT_BYTES:
            break
    return chunk[:EXCERPT_BYTES].decode("utf-8", "replace").strip()


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def record(
    session: Session,
    delivery: Delivery,
    outcome: Outcome,
    at: datetime,
    policy: DeliveryPolicy,
    rng: random.Random,
) -> OutboxEvent:
    """Log the attempt; mark the event delivered, or schedule its retry, or give up."""
    event = session.get(OutboxEvent, delivery.event_id, with_for_update=True)
    assert event is not None  # events are never deleted
    session.add(
        WebhookAttempt(
            event_id=event.id,
            at=at,
            url=delivery.url,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
    event.attempts += 1
    if outcome.delivered:
        event.status = "delivered"
        event.delivered_at = at
        event.last_error = None
    elif event.status == "pending":  # unless delivered meanwhile (after our lease ran out)
        event.last_error = outcome.error
        if event.attempts >= policy.max_attempts:
            event.status = "failed"
        else:
            event.next_attempt_at = at + retry_delay(policy, event.attempts, rng)
    return event


def release(session: Session, event_ids: list[int], now: datetime) -> None:
    """Give claimed but unsent events back, due at ``now`` (on shutdown, or after their
    agent's endpoint failed), instead of letting leases run out."""
    if event_ids:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(event_ids), OutboxEvent.status == "pending")
            .values(next_attempt_at=now)
        )


def deliveries_by_agent(deliveries: list[Delivery]) -> list[list[Delivery]]:
    """The batch split per agent, each agent's deliveries in claim (oldest first) order."""
    queues: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        queues.setdefault(delivery.agent_id, []).append(delivery)
    return list(queues.values())


# ---------------------------------------------------------------------------------------------
# The loop


class Dispatcher:
    """Claims, sends and records; several may run at once (threads or processes).

    ``clock`` times claims, attempts and retries (a ``FixedClock`` in tests); ``signing_clock``
    stamps ``webhook-timestamp``, which receivers check against their own clocks, so it stays
    the real time.
    """

    def __init__(
        self,
        factory: Callable[[], Session],
        clock: Clock,
        http: httpx.Client,
        policy: DeliveryPolicy | None = None,
        *,
        signing_clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.factory = factory
        self.clock = clock
        self.http = http
        self.policy = policy if policy is not None else DeliveryPolicy()
        self.signing_clock = signing_clock if signing_clock is not None else SystemClock()
        self.rng = rng if rng is not None else random.Random()
        # Set to stop between two requests of a batch (``run_forever`` shares its event).
        self.stopping = threading.Event()

    def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch and send it; the number of events attempted.

        Each agent's events go in order, the agents side by side: a receiver that is slow or
        hangs delays its own agent's events, not everybody's. After a failed attempt the rest
        of that agent's batch waits for the failed event's retry instead of being sent into
        the same failure (and costing a timeout each).
        """
        claimed_at = now if now is not None else self.clock.now()
        with transaction(self.factory) as session:
            deliveries = claim_deliveries(session, claimed_at, self.policy)
        queues = deliveries_by_agent(deliveries)
        if len(queues) <= 1:
            return sum(self._send_in_order(queue, now) for queue in queues)
        workers = min(len(queues), self.policy.parallel_agents)
        with ThreadPoolExecutor(workers, thread_name_prefix="platebind-webhook-send") as pool:
            return sum(pool.map(lambda queue: self._send_in_order(queue, now), queues))

    def _send_in_order(self, queue: list[Delivery], now: datetime | None) -> int:
        """Send one agent's deliveries oldest first; the number attempted."""
        for index, delivery in enumerate(queue):
            if self.stopping.is_set():
                self._release(queue[index:], now)
                return index
            retry_at = self._deliver(delivery, now)
            if retry_at is not None:
                self._release(queue[index + 1 :], retry_at)
                return index + 1
        return len(queue)

    def _deliver(self, delivery: Delivery, now: datetime | None) -> datetime | None:
        """Send and record one delivery; when it failed, the time the rest of its agent's
        events should wait for (its next attempt, or now once it has failed for good)."""
        outcome = send(self.http, delivery, self.signing_clock.now(), self.policy.timeout)
        at = now if now is not None else self.clock.now()
        with transaction(self.factory) as session:
            event = record(session, delivery, outcome, at, self.policy, self.rng)
            retry_at = event.next_attempt_at if event.status == "pending" else at
        if outcome.delivered:
            return None
        log.info(
            "webhook attempt failed",
            webhook_id=delivery.message_id,
            agent=delivery.agent_id,
            error=outcome.error,
        )
        return retry_at

    def _release(self, rest: list[Delivery], at: datetime | None) -> None:
        if not rest:
            return
        at = at if at is not None else self.clock.now()
        with transaction(self.factory) as session:
            release(session, [d.event_id for d in rest], at)

    def run_forever(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; sleep briefly when nothing is due. A failing
        database is logged and retried, never fatal."""
        self.stopping = stop
        while not stop.is_set():
            try:
                attempted = self.run_once()
            except Exception:
                log.exception("webhook dispatch failed", retry_in_s=self.policy.error_sleep)
                stop.wait(self.policy.error_sleep)
                continue
            if attempted == 0:
                stop.wait(self.policy.idle_sleep)
