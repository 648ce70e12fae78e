"""``POST /v1/roadside/bills`` on a real server (SQLite and PostgreSQL): wardens only,
idempotent by bill number; and the whole story end to end — a plate whose lot bind failed
still has its roadside bills auto-paid by its roadside agent."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from platebind.parking import keys
from platebind.registry import service as registry
from platebind.roadside import service
from tests.api.conftest import LiveServer
from tests.conftest import ADMIN, Db
from tests.parking.gate_world import add_lot
from tests.registry.test_cutover import tpe
from tests.roadside.conftest import SEGMENT, Roadside

BILL = {
    "bill_no": "TPE20261127000123",
    "vehicle_type": "car",
    "plate": "abc1234",
    "segment": SEGMENT,
    "started_at": "2026-11-27T10:00:00+08:00",
    "ended_at": "2026-11-27T11:10:00+08:00",
    "issued_at": "2026-11-27T11:15:00+08:00",
}


@pytest.fixture
def warden_key(roadside: Roadside) -> str:
    with roadside.db.tx() as s:
        return service.issue_warden_key(s, roadside.db.clock, ADMIN, "w-0017")


def post(server: LiveServer, key: str | None, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with server.client() as client:
        return client.post("/v1/roadside/bills", json=body, headers=headers)


def test_a_warden_issues_a_bill_and_a_replay_gets_the_first_answer(
    roadside: Roadside, live_server: LiveServer, warden_key: str
) -> None:
    roadside.at("2026-11-27 11:20")
    first = post(live_server, warden_key, BILL)
    assert first.status_code == 201, first.text
    doc = first.json()
    assert (doc["plate"], doc["amount"], doc["status"]) == ("ABC-1234", 45, "unpaid")
    assert doc["due_at"] == "2026-12-05T00:00:00+08:00"
    assert "idempotent-replayed" not in first.headers
    roadside.at("2026-11-27 11:30")
    again = post(live_server, warden_key, {**BILL, "plate": "ABC-1234"})
    assert (again.status_code, again.json()) == (200, doc)
    assert again.headers["idempotent-replayed"] == "true"
    reused = post(live_server, warden_key, {**BILL, "plate": "XYZ-5678"})
    assert (reused.status_code, reused.json()["code"]) == (409, "bill_no_reused")
    assert roadside.row(BILL["bill_no"]).issuer == "warden:w-0017"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"plate": "not a plate"}, "invalid_plate"),
        ({"segment": "NOWHERE"}, "roadside_bill_invalid"),
        ({"ended_at": None}, "roadside_bill_invalid"),
        ({"started_at": "0001-01-01T00:00:00+08:00"}, "validation_error"),
        ({"amount": -1}, "validation_error"),
    ],
)
def test_a_bill_that_cannot_be_issued_is_a_problem(
    roadside: Roadside,
    live_server: LiveServer,
    warden_key: str,
    change: dict[str, Any],
    code: str,
) -> None:
    response = post(live_server, warden_key, {**BILL, **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert roadside.bills() == []


def test_only_a_wardens_key_may_issue(
    roadside: Roadside, live_server: LiveServer, warden_key: str
) -> None:

    with roadside.db.tx() as s:
        add_lot(s, roadside.db.clock.now(), "TPE9001")
        lot_key = keys.issue_lot_key(s, roadside.db.clock, ADMIN, "TPE9001")
    for key in (roadside.keys["cmj"], lot_key):
        response = post(live_server, key, BILL)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    for unknown in (None, "pbk_0000000000000000_not-a-key"):
        response = post(live_server, unknown, BILL)
        assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    assert roadside.bills() == []


def test_end_to_end_a_failed_lot_bind_leaves_roadside_auto_pay_alone(
    db: Db, roadside: Roadside, live_server: LiveServer, warden_key: str
) -> None:
    """cmj holds the plate in the lots; pi's bind there fails with plate_bound_elsewhere; jko,
    bound in the roadside scope, still pays the plate's roadside bill."""
    with db.tx() as s:
        registry.bind(
            s,
            db.clock,
            ADMIN,
            agent_id="cmj",
            scope_id="tpe-lots",
            vehicle_type="car",
            plate="ABC-1234",
        )
    roadside.bind("jko", "ABC-1234")  # tpe-roadside, from 2026-11-27 04:00
    db.clock.set(tpe("2026-11-27 09:00"))
    pi = {"Authorization": f"Bearer {roadside.keys['pi']}"}
    jko = {"Authorization": f"Bearer {roadside.keys['jko']}"}
    with live_server.client() as client:
        lot_bind = client.post(
            "/v1/bindings",
            json={"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"},
            headers=pi,
        )
        assert (lot_bind.status_code, lot_bind.json()["code"]) == (409, "plate_bound_elsewhere")
        db.clock.set(tpe("2026-11-27 11:20"))
        issued = post(live_server, warden_key, BILL)
        assert issued.status_code == 201, issued.text
        auto = issued.json()["auto_pay"]
        assert auto["agent"] == "jko"
        charge = client.get(f"/v1/charges/{auto['charge_id']}", headers=jko).json()
        assert (charge["amount"], charge["status"], charge["source"]) == (
            45,
            "requested",
            "roadside_bill",
        )
        assert charge["source_id"] == BILL["bill_no"]
        db.clock.set(tpe("2026-11-27 11:25"))
        settled = client.post(
            f"/v1/charges/{auto['charge_id']}/settle",
            json={"outcome": "paid", "reference": "jko-77"},
            headers=jko,
        )
        assert (settled.status_code, settled.json()["status"]) == (200, "paid")
    bill = roadside.bill(BILL["bill_no"])
    assert (bill.status, bill.paid_by, bill.payment_reference) == ("paid", "agent:jko", "jko-77")
    assert bill.charge_id == uuid.UUID(auto["charge_id"])
    told = [e.event_type for e in roadside.outbox("jko") if not e.event_type.startswith("binding")]
    assert told == ["charge.requested", "bill.issued", "bill.paid"]
    assert [e.event_type for e in roadside.outbox("pi")] == []
