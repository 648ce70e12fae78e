"""Webhook test harness: the registry world, real receivers, and a dispatcher on the test's
clock with small timeouts (no test sleeps through a back-off: it moves the clock)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest

from platebind.registry import service as registry
from platebind.registry.audit import Actor
from platebind.registry.service import BindResult
from platebind.webhooks import service
from platebind.webhooks.dispatcher import DeliveryPolicy, Dispatcher
from platebind.webhooks.models import OutboxEvent, WebhookAttempt
from tests.conftest import ADMIN, Db
from tests.registry.world import build_world
from tests.webhooks.receiver import Receiver

FAST = DeliveryPolicy(
    timeout=0.5,
    batch_size=10,
    lease=timedelta(minutes=1),
    backoff_base=timedelta(seconds=5),
    backoff_factor=2.0,
    backoff_cap=timedelta(minutes=2),
    max_attempts=12,
    idle_sleep=0.01,
    error_sleep=0.05,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(hang_seconds=3) as running:
        yield running


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    with Receiver(path="/pi-hooks") as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # No proxies from the environment: the receivers are on loopback.
    with httpx.Client(trust_env=False) as client:
        yield client


@dataclass
class Hooks:
    """The registry world (agents cmj, pi, jko) with a dispatcher on the test's clock."""

    db: Db
    http: httpx.Client
    keys: dict[str, str]
    policy: DeliveryPolicy = FAST
    secrets: dict[str, str] = field(default_factory=dict)

    def dispatcher(self, policy: DeliveryPolicy | None = None, seed: int = 7) -> Dispatcher:
        return Dispatcher(
            self.db.factory,
            self.db.clock,
            self.http,
            policy or self.policy,
            rng=random.Random(seed),
        )

    def run(self) -> int:
        return self.dispatcher().run_once()

    def set_endpoint(self, agent_id: str, url: str) -> str:
        with self.db.tx() as s:
            _, secret = service.set_endpoint(s, self.db.clock, ADMIN, agent_id, url)
        self.secrets[agent_id] = secret
        return secret

    def bind(self, agent_id: str, plate: str = "ABC-1234", scope: str = "tpe-lots") -> BindResult:
        with self.db.tx() as s:
            return registry.bind(
                s,
                self.db.clock,
                Actor("agent", agent_id),
                agent_id=agent_id,
                scope_id=scope,
                vehicle_type="car",
                plate=plate,
            )

    def events(self, agent_id: str | None = None) -> list[OutboxEvent]:
        with self.db.tx() as s:
            return service.events_for(s, agent_id)

    def event(self, event_id: int) -> OutboxEvent:
        with self.db.tx() as s:
            found = s.get(OutboxEvent, event_id)
            assert found is not None
            return found

    def attempts(self, event_id: int) -> list[WebhookAttempt]:
        with self.db.tx() as s:
            return service.attempts_of(s, [event_id]).get(event_id, [])

    def move_to_next_attempt(self, event_id: int) -> None:
        """Set the clock to when the event is due again (no sleeping through back-off)."""
        self.db.clock.set(self.event(event_id).next_attempt_at)


@pytest.fixture
def hooks(db: Db, http: httpx.Client) -> Hooks:
    return Hooks(db, http, build_world(db).keys)
