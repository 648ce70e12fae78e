"""The agents' journey end to end: a real server, real HTTP clients, real webhook receivers.

Binds, conflicts and transfers go through ``/v1`` on a live uvicorn server; the dispatcher
delivers the outbox to loopback receivers; signatures are checked with each agent's secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from platebind.registry import transfers
from tests.api.conftest import LiveServer
from tests.conftest import ADMIN, Db
from tests.registry.test_cutover import tpe
from tests.webhooks.conftest import Hooks
from tests.webhooks.receiver import Receiver

BIND = {"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"}


@pytest.fixture
def clients(live_server: LiveServer, hooks: Hooks) -> Iterator[dict[str, httpx.Client]]:
    made = {
        agent: httpx.Client(
            base_url=live_server.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
            trust_env=False,
        )
        for agent, key in hooks.keys.items()
    }
    yield made
    for client in made.values():
        client.close()


def verified(receiver: Receiver, secret: str) -> list[dict[str, object]]:
    """Every delivered event, each checked against the agent's secret (raises if forged)."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.delivered]


def test_bind_conflict_and_transfer_reach_the_right_agents_signed(
    db: Db,
    hooks: Hooks,
    clients: dict[str, httpx.Client],
    receiver: Receiver,
    other_receiver: Receiver,
) -> None:
    db.clock.set(tpe("2026-11-26 10:00"))
    cmj_secret = hooks.set_endpoint("cmj", receiver.url)
    pi_secret = hooks.set_endpoint("pi", other_receiver.url)

    assert clients["cmj"].post("/v1/bindings", json=BIND).status_code == 201
    conflict = clients["pi"].post("/v1/bindings", json=BIND)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "plate_bound_elsewhere"
    hooks.run()
    (scheduled,) = verified(receiver, cmj_secret)
    assert scheduled["type"] == "binding.scheduled"
    assert scheduled["data"]["plate"] == "ABC-1234"  # type: ignore[index]

    db.clock.set(tpe("2026-11-28 12:00"))
    with db.tx() as s:
        code = transfers.issue(s, db.clock, ADMIN, "tpe-lots", "car", "ABC-1234").code
    moved = clients["pi"].post("/v1/bindings", json={**BIND, "transfer_code": code})
    assert moved.status_code == 201
    hooks.run()
    cmj_events = [e["type"] for e in verified(receiver, cmj_secret)]
    pi_events = [e["type"] for e in verified(other_receiver, pi_secret)]
    assert cmj_events == ["binding.scheduled", "binding.transfer_out"]
    assert pi_events == ["binding.scheduled"]
    with pytest.raises(WebhookVerificationError):  # signed with pi's secret, not cmj's
        verified(other_receiver, cmj_secret)


def test_receiver_down_for_a_while_loses_nothing(
    db: Db, hooks: Hooks, clients: dict[str, httpx.Client], receiver: Receiver
) -> None:
    secret = hooks.set_endpoint("cmj", receiver.url)
    receiver.fail_always("500")
    plates = [f"ABC-{n:04d}" for n in range(1, 6)]
    for plate in plates:
        assert clients["cmj"].post("/v1/bindings", json={**BIND, "plate": plate}).is_success
    for _ in range(4):  # down: every attempt fails, each retry later than the last
        hooks.run()
        db.clock.advance(timedelta(minutes=5))
    assert receiver.delivered == []
    receiver.recover()
    for _ in range(3):
        hooks.run()
        db.clock.advance(timedelta(minutes=5))
    events = verified(receiver, secret)
    assert sorted(e["data"]["plate"] for e in events) == plates  # type: ignore[index]
    assert set(receiver.delivered_ids().values()) == {1}  # each delivered once
