"""A card-free day end to end on PostgreSQL: a live server, real HTTP clients for the agent and
the lot, the dispatcher delivering signed webhooks to a real receiver, the agent declining its
charge, and the plate's bill; an unbound plate beside it pays at the station."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from platebind.api.app import create_app
from platebind.billing import bills
from platebind.webhooks.dispatcher import Dispatcher
from tests.api.conftest import LiveServer, serve
from tests.conftest import Db
from tests.parking.gate_world import LOT, GateWorld, build_gate_world, tpe
from tests.webhooks.conftest import FAST
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(pg_db: Db) -> Iterator[LiveServer]:
    with serve(create_app(pg_db.url, clock=pg_db.clock)) as live:
        yield live


@pytest.fixture
def world(pg_db: Db) -> GateWorld:
    return build_gate_world(pg_db)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def client(server: LiveServer, key: str) -> httpx.Client:
    auth = {"Authorization": f"Bearer {key}"}
    return httpx.Client(base_url=server.base_url, headers=auth, timeout=10, trust_env=False)


def gate_event(event_id: str, gate: str, plate: str, at: str) -> dict[str, Any]:
    return {"event_id": event_id, "gate": gate, "plate": plate, "vehicle_type": "car",
            "at": at, "confidence": 0.96}  # fmt: skip


def test_a_card_free_stay_is_charged_declined_and_billed_while_a_ticket_pays(
    pg_db: Db, world: GateWorld, server: LiveServer, receiver: Receiver
) -> None:
    clock = pg_db.clock
    with (
        client(server, world.agent_keys["cmj"]) as cmj,
        client(server, world.lot_keys[LOT]) as lot,
        httpx.Client(trust_env=False) as http,
    ):
        # The agent binds ABC-1234 on Thursday 10:00 (effective Friday 04:00), sets its hook.
        clock.set(tpe("2026-11-26 10:00"))
        bound = cmj.post("/v1/bindings", json={"scope": "tpe-lots", "vehicle_type": "car",
                                               "plate": "abc1234"})  # fmt: skip
        assert bound.status_code == 201, bound.text
        endpoint = cmj.put("/v1/webhook-endpoint", json={"url": receiver.url})
        secret = endpoint.json()["secret"]

        def post(event_id: str, gate: str, plate: str, at: str) -> dict[str, Any]:
            clock.set(tpe(at))
            answer = lot.post(
                f"/v1/lots/{LOT}/events", json=gate_event(event_id, gate, plate, f"{at}+08:00")
            )
            assert answer.status_code == 200, answer.text
            decision: dict[str, Any] = answer.json()
            return decision

        entry = post("cam1-0001", "entry", "ABC-1234", "2026-11-27 08:00")
        assert (entry["action"], entry["agent"], entry["flags"]) == ("open", "cmj", [])
        ticket = post("cam1-0002", "entry", "KLM-5678", "2026-11-27 08:30")
        assert (ticket["action"], ticket["agent"]) == ("ticket", None)

        # 08:30 to 09:15 is 45 minutes: 2 started half hours × 15 = 30 TWD at the pay station.
        paying = post("cam2-0002", "exit", "KLM-5678", "2026-11-27 09:15")
        assert (paying["action"], paying["amount"], paying["agent"]) == ("pay", 30, None)

        # 08:00 to 10:10 is 2 h 10 min = 130 minutes: 4 whole half hours and a started fifth,
        # 5 units × (30 TWD an hour / 2) = 5 × 15 = 75 TWD.
        exit_ = post("cam2-0001", "exit", "ABC-1234", "2026-11-27 10:10")
        assert exit_ == {"action": "open", "session_id": entry["session_id"], "amount": 75,
                         "agent": "cmj", "flags": []}  # fmt: skip
        dispatcher = Dispatcher(pg_db.factory, clock, http, FAST, rng=random.Random(3))
        while dispatcher.run_once():
            pass
        delivered = [Webhook(secret).verify(r.body, r.headers) for r in receiver.delivered]
        kinds = [event["type"] for event in delivered]
        assert kinds == [
            "binding.scheduled",
            "session.entered",
            "charge.requested",
            "session.exited",
        ]
        requested = delivered[2]["data"]
        assert (requested["agent"], requested["amount"], requested["plate"]) == (
            "cmj",
            75,
            "ABC-1234",
        )
        assert requested["source_id"] == entry["session_id"]
        assert delivered[3]["data"]["status"] == "closed"
        assert delivered[3]["data"]["charge_id"] == requested["id"]

        # The agent lists its pending charge and declines it; the plate owes the 75 TWD.
        pending = cmj.get("/v1/charges", params={"status": "requested"}).json()["items"]
        assert [c["id"] for c in pending] == [requested["id"]]
        clock.set(tpe("2026-11-27 12:00"))
        declined = cmj.post(
            f"/v1/charges/{requested['id']}/settle",
            json={"outcome": "declined", "reason": "card expired"},
        )
        assert declined.status_code == 200, declined.text
        assert declined.json()["status"] == "declined"

        seen = cmj.get(f"/v1/sessions/{entry['session_id']}").json()
        assert (seen["status"], seen["outcome"], seen["amount"]) == ("closed", "charged", 75)

    with pg_db.tx() as s:
        (bill,) = bills.bills_of_plates(s, [("car", "ABC-1234")])
        assert (bill.amount, bill.reason, bill.status, bill.kind) == (
            75,
            "declined",
            "unpaid",
            "lot",
        )
        assert str(bill.charge_id) == requested["id"]
        assert bills.bills_of_plates(s, [("car", "KLM-5678")]) == []
