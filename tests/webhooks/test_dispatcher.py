"""Delivering the outbox to real receivers, on SQLite and PostgreSQL.

Time is the test's clock: a retry is reached by moving the clock to the event's
``next_attempt_at``, never by sleeping.
"""

from __future__ import annotations

import random
import socket
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from platebind.webhooks import service
from platebind.webhooks.dispatcher import DeliveryPolicy, claim_due, retry_delay
from tests.conftest import ADMIN
from tests.webhooks.conftest import FAST, Hooks
from tests.webhooks.receiver import Misbehaviour, Receiver


def _only_event(hooks: Hooks, agent_id: str = "cmj") -> int:
    (event,) = hooks.events(agent_id)
    return event.id


# ---------------------------------------------------------------------------------------------
# Delivered, signed, to the right agent


def test_a_bind_is_delivered_as_binding_scheduled_signed_for_its_agent(
    hooks: Hooks, receiver: Receiver
) -> None:
    secret = hooks.set_endpoint("cmj", receiver.url)
    result = hooks.bind("cmj")

    assert hooks.run() == 1

    (got,) = receiver.requests
    assert (got.method, got.path, got.answered) == ("POST", "/hooks", 200)
    assert got.headers["content-type"] == "application/json"
    doc = Webhook(secret).verify(got.body, got.headers)
    event_id = _only_event(hooks)
    assert got.webhook_id == doc["id"] == f"evt_{event_id}"
    assert doc["type"] == "binding.scheduled"
    assert doc["seq"] == 1
    assert doc["data"]["id"] == str(result.binding.id)
    assert (doc["data"]["agent"], doc["data"]["plate"]) == ("cmj", "ABC-1234")
    assert doc["timestamp"].endswith("+08:00")
    event = hooks.event(event_id)
    assert (event.status, event.attempts, event.delivered_at) == (
        "delivered",
        1,
        hooks.db.clock.now(),
    )
    (attempt,) = hooks.attempts(event_id)
    assert (attempt.status_code, attempt.error, attempt.url) == (200, None, receiver.url)
    assert hooks.run() == 0  # nothing is sent twice


def test_each_agent_gets_only_its_own_events_signed_with_its_own_secret(
    hooks: Hooks, receiver: Receiver, other_receiver: Receiver
) -> None:
    hooks.set_endpoint("cmj", receiver.url)
    hooks.set_endpoint("pi", other_receiver.url)
    for n in range(3):
        hooks.bind("cmj", f"CMJ-000{n + 1}")
        hooks.bind("pi", f"PAY-000{n + 1}", scope="instant")

    assert hooks.run() == 6

    for agent_id, got, wrong in (
        ("cmj", receiver, "pi"),
        ("pi", other_receiver, "cmj"),
    ):
        assert len(got.requests) == 3
        own_ids = {f"evt_{e.id}" for e in hooks.events(agent_id)}
        assert {r.webhook_id for r in got.requests} == own_ids
        for request in got.requests:
            doc = Webhook(hooks.secrets[agent_id]).verify(request.body, request.headers)
            assert doc["data"]["agent"] == agent_id
            with pytest.raises(WebhookVerificationError):
                Webhook(hooks.secrets[wrong]).verify(request.body, request.headers)
    assert {r.json["type"] for r in other_receiver.requests} == {"binding.activated"}


def test_setting_the_endpoint_again_rotates_the_secret(hooks: Hooks, receiver: Receiver) -> None:
    old = hooks.set_endpoint("cmj", receiver.url)
    new = hooks.set_endpoint("cmj", receiver.url)
    assert old != new
    hooks.bind("cmj")

    hooks.run()

    (got,) = receiver.requests
    Webhook(new).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(got.body, got.headers)


def test_an_agent_without_an_endpoint_keeps_its_events_pending_until_it_sets_one(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.bind("jko")
    hooks.db.clock.advance(timedelta(days=3))

    assert hooks.run() == 0
    event = hooks.events("jko")[0]
    assert (event.status, event.attempts) == ("pending", 0)

    hooks.set_endpoint("jko", receiver.url)
    assert hooks.run() == 1
    assert receiver.delivered_ids() == {f"evt_{event.id}": 1}


# ---------------------------------------------------------------------------------------------
# Failures, back-off, giving up, redelivery


def test_a_receiver_down_for_a_while_gets_every_event_after_backed_off_retries(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.set_endpoint("cmj", receiver.url)
    hooks.bind("cmj")
    event_id = _only_event(hooks)
    receiver.fail_next(4, "500")

    delays = []
    for attempt in range(1, 5):
        before = hooks.db.clock.now()
        assert hooks.run() == 1
        event = hooks.event(event_id)
        assert (event.status, event.attempts) == ("pending", attempt)
        assert event.last_error == "HTTP 500: receiver is down"
        delays.append(event.next_attempt_at - before)
        assert hooks.run() == 0  # not due before its time
        hooks.move_to_next_attempt(event_id)

    assert hooks.run() == 1
    assert hooks.event(event_id).status == "delivered"
    for n, delay in enumerate(delays, start=1):
        assert timedelta(0) <= delay <= FAST.backoff_base * 2 ** (n - 1)
    assert [r.answered for r in receiver.requests] == [500, 500, 500, 500, 200]
    assert len({r.webhook_id for r in receiver.requests}) == 1  # the same id on every retry
    assert [a.status_code for a in hooks.attempts(event_id)] == [500, 500, 500, 500, 200]


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("hang", "ReadTimeout"),
        ("close", "RemoteProtocolError"),
        ("redirect", "HTTP 302"),
    ],
)
def test_timeouts_dropped_connections_and_redirects_are_failed_attempts(
    hooks: Hooks, receiver: Receiver, how: Misbehaviour, error: str
) -> None:
    hooks.set_endpoint("cmj", receiver.url)
    hooks.bind("cmj")
    event_id = _only_event(hooks)
    receiver.fail_next(1, how)

    hooks.run()

    event = hooks.event(event_id)
    assert event.status == "pending"
    assert event.last_error is not None
    assert event.last_error.startswith(error)
    assert len(receiver.requests) == 1  # a redirect is not followed
    hooks.move_to_next_attempt(event_id)
    hooks.run()
    assert hooks.event(event_id).status == "delivered"


def test_an_unreachable_endpoint_is_a_failed_attempt(hooks: Hooks) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        hooks.set_endpoint("cmj", f"http://127.0.0.1:{sock.getsockname()[1]}/hooks")
        hooks.bind("cmj")
        hooks.run()
    (attempt,) = hooks.attempts(_only_event(hooks))
    assert attempt.status_code is None
    assert attempt.error is not None
    assert attempt.error.startswith("ConnectError")


def test_after_the_maximum_attempts_the_event_fails_and_is_no_longer_tried(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.policy = replace(FAST, max_attempts=3)
    hooks.set_endpoint("cmj", receiver.url)
    hooks.bind("cmj")
    event_id = _only_event(hooks)
    receiver.fail_always("500")

    for _ in range(3):
        assert hooks.run() == 1
        hooks.move_to_next_attempt(event_id)
    hooks.db.clock.advance(timedelta(days=1))

    assert hooks.run() == 0
    event = hooks.event(event_id)
    assert (event.status, event.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3


def test_redelivering_a_failed_event_sends_it_again_with_the_same_id(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.policy = replace(FAST, max_attempts=1)
    hooks.set_endpoint("cmj", receiver.url)
    hooks.bind("cmj")
    event_id = _only_event(hooks)
    receiver.fail_next(1, "500")
    hooks.run()
    assert hooks.event(event_id).status == "failed"

    with hooks.db.tx() as s:
        event = service.redeliver(s, hooks.db.clock, ADMIN, "cmj", f"evt_{event_id}")
        assert (event.status, event.attempts) == ("pending", 0)
    assert hooks.run() == 1

    assert hooks.event(event_id).status == "delivered"
    assert [r.webhook_id for r in receiver.requests] == [f"evt_{event_id}"] * 2
    assert [a.status_code for a in hooks.attempts(event_id)] == [500, 200]


def test_redelivering_a_delivered_event_delivers_it_again(hooks: Hooks, receiver: Receiver) -> None:
    hooks.set_endpoint("cmj", receiver.url)
    hooks.bind("cmj")
    event_id = _only_event(hooks)
    hooks.run()
    hooks.db.clock.advance(timedelta(hours=1))

    with hooks.db.tx() as s:
        service.redeliver(s, hooks.db.clock, ADMIN, "cmj", f"evt_{event_id}")
    hooks.run()

    assert receiver.delivered_ids() == {f"evt_{event_id}": 2}
    assert hooks.event(event_id).delivered_at == hooks.db.clock.now()


# ---------------------------------------------------------------------------------------------
# Claims: a lease, released on shutdown


def test_a_claim_left_by_a_crashed_dispatcher_is_retried_when_its_lease_runs_out(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.set_endpoint("cmj", receiver.url)
    hooks.bind("cmj")
    with hooks.db.tx() as s:
        (claimed,) = claim_due(s, hooks.db.clock.now(), 10, FAST.lease)
    # ... and the dispatcher that claimed it dies before sending.

    assert hooks.run() == 0
    hooks.db.clock.advance(FAST.lease)
    assert hooks.run() == 1
    assert receiver.delivered_ids() == {f"evt_{claimed.id}": 1}


def test_a_stopping_dispatcher_gives_its_unsent_claims_back(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.set_endpoint("cmj", receiver.url)
    hooks.bind("cmj")
    dispatcher = hooks.dispatcher()
    dispatcher.stopping.set()

    assert dispatcher.run_once() == 0
    assert receiver.requests == []
    assert hooks.run() == 1  # at once: no lease to wait out


def test_batches_go_oldest_first_and_leave_the_rest_for_the_next_run(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.policy = replace(FAST, batch_size=2)
    hooks.set_endpoint("cmj", receiver.url)
    for n in range(5):
        hooks.bind("cmj", f"ABC-000{n + 1}")

    assert [hooks.run() for _ in range(4)] == [2, 2, 1, 0]
    ids = [f"evt_{e.id}" for e in hooks.events("cmj")]
    assert [r.webhook_id for r in receiver.requests] == ids


# ---------------------------------------------------------------------------------------------
# The back-off itself


def test_backoff_has_full_jitter_under_an_exponential_ceiling_with_a_cap() -> None:
    policy = DeliveryPolicy(
        backoff_base=timedelta(seconds=5), backoff_factor=2, backoff_cap=timedelta(hours=1)
    )
    rng = random.Random(1)
    for attempts, ceiling in ((1, 5), (2, 10), (3, 20), (10, 2560), (11, 3600), (40, 3600)):
        delays = [retry_delay(policy, attempts, rng).total_seconds() for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.9 * ceiling  # spread over the whole range ...
        assert min(delays) < 0.1 * ceiling  # ... not bunched at the ceiling


def test_a_lease_shorter_than_a_batch_of_timeouts_is_refused() -> None:
    with pytest.raises(ValueError, match="lease"):
        DeliveryPolicy(timeout=10, batch_size=10, lease=timedelta(seconds=60))


# ---------------------------------------------------------------------------------------------
# One agent's slow or failing receiver costs only that agent


def test_a_slow_receiver_delays_only_its_own_agents_events(
    hooks: Hooks, other_receiver: Receiver
) -> None:
    # The slow answer must stay inside the timeout: this is slow, not down.
    hooks.policy = replace(FAST, timeout=20.0, lease=timedelta(minutes=20))
    with Receiver(hang_seconds=15) as slow:
        hooks.set_endpoint("cmj", slow.url)
        hooks.set_endpoint("pi", other_receiver.url)
        hooks.bind("cmj", "ABC-1234")  # the older event: sent first
        hooks.bind("pi", "XYZ-9876")
        slow.fail_next(1, "slow")
        attempted: list[int] = []
        batch = threading.Thread(target=lambda: attempted.append(hooks.run()))
        batch.start()
        try:
            slow.wait_for(1)
            # pi's event arrives while cmj's receiver still holds its answer.
            (got,) = other_receiver.wait_for(1, timeout=10)
            assert got.answered == 200
            assert hooks.event(_only_event(hooks, "cmj")).status == "pending"
        finally:
            slow.release_slow()
            batch.join(timeout=20)
    assert attempted == [2]
    assert hooks.event(_only_event(hooks, "cmj")).status == "delivered"
    assert hooks.event(_only_event(hooks, "pi")).status == "delivered"


def test_after_a_failed_attempt_the_rest_of_that_agents_batch_waits_for_the_retry(
    hooks: Hooks, receiver: Receiver, other_receiver: Receiver
) -> None:
    hooks.set_endpoint("cmj", receiver.url)
    hooks.set_endpoint("pi", other_receiver.url)
    for plate in ("ABC-1001", "ABC-1002", "ABC-1003"):
        hooks.bind("cmj", plate)
    hooks.bind("pi", "XYZ-9876")
    receiver.fail_next(1, "hang")  # a timeout: the costliest failure

    assert hooks.run() == 2  # cmj's first event and pi's event; not cmj's other two

    assert len(receiver.requests) == 1
    assert len(other_receiver.delivered) == 1
    first, *rest = sorted(hooks.events("cmj"), key=lambda e: e.id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert [(e.attempts, e.next_attempt_at) for e in rest] == [(0, first.next_attempt_at)] * 2
    assert hooks.run() == 0  # nothing of cmj's is due before the retry

    hooks.move_to_next_attempt(first.id)
    assert hooks.run() == 3
    ids = [r.webhook_id for r in receiver.delivered]
    assert ids == [f"evt_{e.id}" for e in (first, *rest)]  # still oldest first
