"""Several dispatchers at once never send the same event at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest

from platebind.webhooks.dispatcher import claim_due
from tests.conftest import Db
from tests.registry.world import build_world
from tests.webhooks.conftest import FAST, Hooks
from tests.webhooks.receiver import Receiver

AGENTS = ("cmj", "pi", "jko")


def _busy_world(hooks: Hooks, receiver: Receiver, plates_per_agent: int) -> int:
    """Every agent's endpoint on one receiver, ``plates_per_agent`` binds each; the event count."""
    for agent_id in AGENTS:
        hooks.set_endpoint(agent_id, f"{receiver.url}/{agent_id}")
    letters = {"cmj": "CMJ", "pi": "PAY", "jko": "JKA"}
    for agent_id in AGENTS:
        for n in range(plates_per_agent):
            hooks.bind(agent_id, f"{letters[agent_id]}-{n + 1:04d}", scope="instant")
    return len(hooks.events())


def _in_threads(count: int, work: Callable[[int], int]) -> list[int]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(work, range(count)))


@pytest.mark.postgres
def test_concurrent_claims_on_postgresql_never_share_an_event(
    pg_db: Db, http: httpx.Client, receiver: Receiver
) -> None:
    hooks = Hooks(pg_db, http, build_world(pg_db).keys)
    total = _busy_world(hooks, receiver, 10)
    threads = 6
    start = threading.Barrier(threads, timeout=10)
    claimed_all = threading.Barrier(threads, timeout=10)
    claims: list[list[int]] = [[] for _ in range(threads)]

    def claim(index: int) -> int:
        with pg_db.tx() as s:
            start.wait()
            claims[index] = [e.id for e in claim_due(s, pg_db.clock.now(), 4, FAST.lease)]
            # Nobody commits until everyone has claimed: the claims overlap in time, so the
            # rows of the others are locked (skipped), not yet pushed into the future.
            claimed_all.wait()
        return len(claims[index])

    counts = _in_threads(threads, claim)

    ids = [event_id for batch in claims for event_id in batch]
    assert len(ids) == len(set(ids)) == min(total, threads * 4)
    assert all(count > 0 for count in counts)  # skipped, not blocked: everyone got work


def test_concurrent_dispatchers_deliver_every_event_exactly_once(
    db: Db, http: httpx.Client, receiver: Receiver
) -> None:
    hooks = Hooks(db, http, build_world(db).keys, policy=replace(FAST, batch_size=3))
    total = _busy_world(hooks, receiver, 8)
    threads = 4
    start = threading.Barrier(threads, timeout=10)

    def dispatch(seed: int) -> int:
        dispatcher = hooks.dispatcher(seed=seed)
        start.wait()
        sent = 0
        while attempted := dispatcher.run_once():
            sent += attempted
        return sent

    sent = _in_threads(threads, dispatch)

    assert sum(sent) == total
    delivered = receiver.delivered_ids()
    assert len(delivered) == total
    assert set(delivered.values()) == {1}
    assert {e.status for e in hooks.events()} == {"delivered"}
    for request in receiver.requests:  # and each to its own agent's URL
        assert request.path == f"/hooks/{request.json['data']['agent']}"
