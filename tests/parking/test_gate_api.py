"""The gate routes on a live server (SQLite and PostgreSQL): who may call them, what they
answer, byte-for-byte repeats, sessions as their lot and their agent see them; and the
``lot key`` command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from platebind.registry import agents
from tests.api.conftest import LiveServer
from tests.cli_helpers import Cli
from tests.conftest import ADMIN, Db
from tests.parking.gate_world import LOT, OTHER_LOT, GateWorld, bind, build_gate_world, tpe

IN = "2026-11-27T08:00:00+08:00"
OUT = "2026-11-27T10:10:00+08:00"
ENTRY = {"event_id": "e1", "gate": "entry", "plate": "ABC-1234", "vehicle_type": "car",
         "at": IN, "confidence": 0.97}  # fmt: skip


@pytest.fixture
def world(db: Db) -> GateWorld:
    built = build_gate_world(db)
    bind(db, "cmj", "ABC-1234")
    db.clock.set(tpe("2026-11-27 08:00"))
    return built


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=10, trust_env=False) as made:
        yield made


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def post_event(
    client: httpx.Client, key: str, body: dict[str, Any], lot: str = LOT
) -> httpx.Response:
    return client.post(f"/v1/lots/{lot}/events", json=body, headers=auth(key))


def test_a_lot_posts_its_events_and_a_repeat_is_the_same_bytes(
    db: Db, world: GateWorld, client: httpx.Client
) -> None:
    key = world.lot_keys[LOT]
    first = post_event(client, key, ENTRY)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/json"
    decision = first.json()
    assert (decision["action"], decision["agent"], decision["amount"]) == ("open", "cmj", None)
    again = post_event(client, key, {**ENTRY, "plate": "ABC-1234", "replayed": True})
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    reused = post_event(client, key, {**ENTRY, "plate": "XYZ-5678"})
    assert (reused.status_code, reused.json()["code"]) == (422, "event_id_reused")
    assert reused.headers["content-type"] == "application/problem+json"
    db.clock.set(tpe("2026-11-27 10:10"))
    exit_ = post_event(client, key, {**ENTRY, "event_id": "x1", "gate": "exit", "at": OUT})
    assert exit_.json() == {
        "action": "open",
        "session_id": decision["session_id"],
        "amount": 75,
        "agent": "cmj",
        "flags": [],
    }


def test_a_lot_key_acts_only_for_its_own_lot(world: GateWorld, client: httpx.Client) -> None:
    key = world.lot_keys[LOT]
    other = post_event(client, key, ENTRY, lot=OTHER_LOT)
    assert (other.status_code, other.json()["code"]) == (403, "forbidden")
    unknown = post_event(client, key, ENTRY, lot="TPE0000")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "lot_not_found")
    as_agent = post_event(client, world.agent_keys["cmj"], ENTRY)
    assert (as_agent.status_code, as_agent.json()["code"]) == (403, "forbidden")
    nobody = client.post(f"/v1/lots/{LOT}/events", json=ENTRY)
    assert (nobody.status_code, nobody.json()["code"]) == (401, "unauthenticated")
    # None of that was recorded: the event is still new for its own lot.
    assert "idempotent-replayed" not in post_event(client, key, ENTRY).headers


def test_an_unreadable_event_is_a_validation_problem(
    world: GateWorld, client: httpx.Client
) -> None:
    key = world.lot_keys[LOT]
    for body in (
        {**ENTRY, "at": "2026-11-27T08:00:00"},  # no offset
        {**ENTRY, "confidence": 1.5},
        {**ENTRY, "gate": "exit", "decided_action": "ticket"},
        {**ENTRY, "plate": "ABC\u00001234"},
        {**ENTRY, "event_id": "has space"},
    ):
        answer = post_event(client, key, body)
        assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), body
    far = post_event(client, key, {**ENTRY, "at": "2030-01-01T00:00:00+08:00"})
    assert (far.status_code, far.json()["code"]) == (422, "event_time_invalid")


def test_a_session_is_seen_by_its_lot_and_its_agent_only(
    db: Db, world: GateWorld, client: httpx.Client
) -> None:
    session_id = post_event(client, world.lot_keys[LOT], ENTRY).json()["session_id"]
    path = f"/v1/sessions/{session_id}"
    for key in (world.lot_keys[LOT], world.agent_keys["cmj"]):
        seen = client.get(path, headers=auth(key))
        assert seen.status_code == 200, seen.text
        assert seen.json()["id"] == session_id
        assert (seen.json()["status"], seen.json()["agent"]) == ("open", "cmj")
        assert seen.json()["entered_at"] == IN
    for key in (world.lot_keys[OTHER_LOT], world.agent_keys["pi"]):
        hidden = client.get(path, headers=auth(key))
        assert (hidden.status_code, hidden.json()["code"]) == (404, "session_not_found")
    with db.tx() as s:
        agents.set_agent_status(s, db.clock, ADMIN, "cmj", "suspended")
    suspended = client.get(path, headers=auth(world.agent_keys["cmj"]))
    assert (suspended.status_code, suspended.json()["code"]) == (403, "forbidden")


def test_a_ticket_session_is_not_its_agents_to_see(world: GateWorld, client: httpx.Client) -> None:
    ticket = post_event(client, world.lot_keys[LOT], {**ENTRY, "plate": "XYZ-5678"}).json()
    assert ticket["action"] == "ticket"
    for agent in ("cmj", "pi"):
        answer = client.get(
            f"/v1/sessions/{ticket['session_id']}", headers=auth(world.agent_keys[agent])
        )
        assert answer.status_code == 404


def test_an_attendant_closes_a_session_unpaid_through_the_api(
    world: GateWorld, client: httpx.Client
) -> None:
    key = world.lot_keys[LOT]
    entry = post_event(client, key, {**ENTRY, "plate": "XYZ-5678"}).json()
    post_event(client, key, {**ENTRY, "event_id": "x1", "gate": "exit", "plate": "XYZ-5678",
                             "at": OUT})  # fmt: skip
    path = f"/v1/lots/{LOT}/sessions/{entry['session_id']}/close"
    body = {"outcome": "unpaid", "amount": 75}
    headers = {**auth(key), "Idempotency-Key": "close-1"}
    closed = client.post(path, json=body, headers=headers)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "unpaid")
    assert closed.json()["bill_id"] is not None
    again = client.post(path, json=body, headers=headers)
    assert again.content == closed.content
    other_way = client.post(path, json={"outcome": "paid_at_station", "amount": 75},
                            headers=auth(key))  # fmt: skip
    assert (other_way.status_code, other_way.json()["code"]) == (409, "session_closed")
    elsewhere = client.post(
        f"/v1/lots/{OTHER_LOT}/sessions/{entry['session_id']}/close",
        json=body,
        headers=auth(world.lot_keys[OTHER_LOT]),
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "session_not_found")


def test_lot_key_command_prints_a_working_key_once(db: Db, client: httpx.Client) -> None:
    build_gate_world(db)
    cli = Cli(db.url)
    doc = cli.json("lot", "key", LOT)
    assert set(doc) == {"lot", "api_key"}
    assert doc["lot"] == LOT
    assert doc["api_key"].startswith("pbk_")
    second = cli.json("lot", "key", LOT)["api_key"]
    assert second != doc["api_key"]
    for key in (doc["api_key"], second):  # a new key leaves the others working
        answer = post_event(client, key, ENTRY)
        assert answer.status_code == 200, answer.text
    refused = cli.refusal("lot", "key", "TPE0000")
    assert refused["code"] == "lot_not_found"
    text = cli.run("lot", "key", LOT)
    assert text.exit_code == 0
    assert "shown only once" in text.stdout
