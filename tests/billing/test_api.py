"""``/v1/charges`` and ``/v1/statements`` on a live server (SQLite and PostgreSQL): an agent's
own charges, settling with and without ``Idempotency-Key``, statements by ``Accept``,
reconciliation of an uploaded CSV, and ``charge.requested`` delivered signed."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from standardwebhooks import Webhook

from platebind.billing.api import wants_csv
from platebind.webhooks.dispatcher import Dispatcher
from platebind.webhooks.service import set_endpoint
from tests.api.conftest import LiveServer
from tests.billing.conftest import Billing
from tests.billing.test_statements import AFTER_DAY, a_day_of_business
from tests.conftest import ADMIN
from tests.webhooks.conftest import FAST
from tests.webhooks.receiver import Receiver

PROBLEM = "application/problem+json"


@pytest.fixture
def agents(billing: Billing, live_server: LiveServer) -> Iterator[dict[str, httpx.Client]]:
    made = {
        agent: httpx.Client(
            base_url=live_server.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
            trust_env=False,
        )
        for agent, key in billing.keys.items()
    }
    yield made
    for client in made.values():
        client.close()


def test_an_agent_lists_its_own_charges_page_by_page(
    billing: Billing, agents: dict[str, httpx.Client]
) -> None:
    made = []
    for i in range(5):
        made.append(billing.charge(f"s-{i}", amount=10 * (i + 1)))
        billing.db.clock.advance(timedelta(seconds=1))
    billing.charge("s-pi", agent="pi")
    billing.pay(made[1])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = agents["cmj"].get("/v1/charges", params=params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(c.id) for c in made]
    waiting = agents["cmj"].get("/v1/charges", params={"status": "requested"}).json()
    assert [c["source_id"] for c in waiting["items"]] == ["s-0", "s-2", "s-3", "s-4"]
    bad = agents["cmj"].get("/v1/charges", params={"cursor": "not-ours"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")


def test_a_charge_is_its_agents_only(billing: Billing, agents: dict[str, httpx.Client]) -> None:
    charge = billing.charge("s-1")
    mine = agents["cmj"].get(f"/v1/charges/{charge.id}")
    assert (mine.status_code, mine.json()["amount"], mine.json()["status"]) == (
        200,
        75,
        "requested",
    )
    for client, charge_id in ((agents["pi"], charge.id), (agents["cmj"], uuid.uuid4())):
        answer = client.get(f"/v1/charges/{charge_id}")
        assert (answer.status_code, answer.headers["content-type"]) == (404, PROBLEM)
        assert answer.json()["code"] == "charge_not_found"
        settle = client.post(f"/v1/charges/{charge_id}/settle", json={"outcome": "declined"})
        assert (settle.status_code, settle.json()["code"]) == (404, "charge_not_found")
    assert billing.get(charge.id).status == "requested"


def test_settling_with_the_same_idempotency_key_replays_the_first_answer(
    billing: Billing, agents: dict[str, httpx.Client]
) -> None:
    charge = billing.charge("s-1")
    path = f"/v1/charges/{charge.id}/settle"
    body = {"outcome": "paid", "reference": "cmj-tx-1"}
    headers = {"Idempotency-Key": "settle-s-1"}
    first = agents["cmj"].post(path, json=body, headers=headers)
    assert (first.status_code, first.json()["status"], first.json()["reference"]) == (
        200,
        "paid",
        "cmj-tx-1",
    )
    billing.db.clock.advance(AFTER_DAY - billing.db.clock.now())
    again = agents["cmj"].post(path, json=body, headers=headers)
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    reused = agents["cmj"].post(path, json={"outcome": "declined"}, headers=headers)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert len(billing.events()) == 1


def test_settling_again_without_a_key_answers_the_same_and_writes_nothing(
    billing: Billing, agents: dict[str, httpx.Client]
) -> None:
    charge = billing.charge("s-1")
    path = f"/v1/charges/{charge.id}/settle"
    first = agents["cmj"].post(path, json={"outcome": "declined", "reason": "card_expired"})
    again = agents["cmj"].post(path, json={"outcome": "declined", "reason": "other"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["reason"] == "card_expired"
    assert len(billing.bills()) == len(billing.events()) == 1
    other = agents["cmj"].post(path, json={"outcome": "paid", "reference": "late"})
    assert (other.status_code, other.headers["content-type"]) == (409, PROBLEM)
    assert (other.json()["code"], other.json()["charge_status"]) == (
        "charge_already_settled",
        "declined",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "paid"}, "reference"),
        ({"outcome": "refunded"}, "outcome"),
        ({"outcome": "paid", "reference": ""}, "reference"),
        ({"outcome": "paid", "reference": "x", "tip": 5}, "tip"),
    ],
)
def test_a_malformed_settle_is_a_422_naming_the_field(
    billing: Billing, agents: dict[str, httpx.Client], body: dict[str, object], field: str
) -> None:
    charge = billing.charge("s-1")
    answer = agents["cmj"].post(f"/v1/charges/{charge.id}/settle", json=body)
    assert answer.status_code == 422
    problem = answer.json()
    assert field in {problem.get("field"), *(e["field"] for e in problem.get("errors", []))}
    assert billing.get(charge.id).status == "requested"


def test_statements_come_as_json_or_csv_by_accept(
    billing: Billing, agents: dict[str, httpx.Client]
) -> None:
    a_day_of_business(billing)
    billing.at(AFTER_DAY)
    as_json = agents["cmj"].get("/v1/statements/2026-11-26")
    assert (as_json.status_code, as_json.headers["content-type"]) == (200, "application/json")
    doc = as_json.json()
    as_csv = agents["cmj"].get("/v1/statements/2026-11-26", headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="cmj-2026-11-26.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.text, newline="")))
    assert [(r["charge_id"], r["kind"], int(r["amount"])) for r in rows] == [
        (line["charge_id"], line["kind"], line["amount"]) for line in doc["lines"]
    ]
    assert doc["totals"]["net"] == 90
    pi = agents["pi"].get("/v1/statements/2026-11-26").json()
    assert [line["reference"] for line in pi["lines"]] == ["pi-1"]


@pytest.mark.parametrize(
    ("day", "code"),
    [("2026-11-28", "statement_day_unavailable"), ("2026-13-01", "validation_error")],
)
def test_a_statement_of_a_day_not_begun_or_not_a_day_is_a_422(
    billing: Billing, agents: dict[str, httpx.Client], day: str, code: str
) -> None:
    answer = agents["cmj"].get(f"/v1/statements/{day}")
    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM)
    assert answer.json()["code"] == code


def test_reconciling_an_upload_reports_each_difference(
    billing: Billing, agents: dict[str, httpx.Client]
) -> None:
    a_day_of_business(billing)
    billing.at(AFTER_DAY)
    ours = agents["cmj"].get("/v1/statements/2026-11-26", headers={"Accept": "text/csv"}).text
    header, *lines = ours.splitlines()
    theirs = "\n".join([header, lines[0].replace(",75,", ",70,"), *lines[2:]]) + "\n"
    path, csv_type = "/v1/statements/2026-11-26/reconcile", {"Content-Type": "text/csv"}
    clean = agents["cmj"].post(path, content=ours.encode(), headers=csv_type)
    assert (clean.status_code, clean.json()["matched"], clean.json()["missing"]) == (200, 4, [])
    report = agents["cmj"].post(path, content=theirs.encode(), headers=csv_type).json()
    assert [m["amount"] for m in report["missing"]] == [40]
    assert [m["differences"] for m in report["mismatched"]] == [
        {"amount": {"ours": 75, "theirs": 70}}
    ]
    keyed = {**csv_type, "Idempotency-Key": "rec-1"}
    first = agents["cmj"].post(path, content=theirs.encode(), headers=keyed)
    again = agents["cmj"].post(path, content=theirs.encode(), headers=keyed)
    assert (first.content, again.headers["idempotent-replayed"]) == (again.content, "true")
    bad = agents["cmj"].post(path, content=b"charge_id,kind,amount\nx,paid,1\n", headers=csv_type)
    assert (bad.status_code, bad.headers["content-type"]) == (422, PROBLEM)
    assert bad.json()["code"] == "statement_csv_invalid"
    assert bad.json()["errors"] == ["line 2: charge_id 'x' is not a charge id"]


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        (None, False),
        ("", False),
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ("application/json", False),
        ("*/*", False),
        ("text/csv, */*;q=0.5", True),
        ("application/json, text/csv", False),
        ("application/json;q=0.5, text/csv", True),
        ("text/*", True),
        ("text/csv;q=0", False),
        ("text/csv;q=oops", False),
    ],
)
def test_accept_chooses_csv_only_when_preferred(accept: str | None, csv_wanted: bool) -> None:
    assert wants_csv(accept) is csv_wanted


def test_charge_requested_is_delivered_signed_with_the_whole_charge(billing: Billing) -> None:
    with Receiver() as receiver, httpx.Client(trust_env=False) as http:
        with billing.db.tx() as s:
            _, secret = set_endpoint(s, billing.db.clock, ADMIN, "cmj", receiver.url)
        charge = billing.charge("s-1", amount=75)
        billing.charge("s-free", amount=0)
        dispatcher = Dispatcher(
            billing.db.factory, billing.db.clock, http, FAST, rng=random.Random(7)
        )
        assert dispatcher.run_once() == 1
        (received,) = receiver.delivered
        event = Webhook(secret).verify(received.body, received.headers)
    assert event["type"] == "charge.requested"
    data = event["data"]
    assert (data["id"], data["amount"], data["agent"], data["plate"]) == (
        str(charge.id),
        75,
        "cmj",
        "ABC-1234",
    )
