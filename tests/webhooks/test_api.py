"""Webhook routes against a real server: the endpoint, deliveries and redelivery."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from platebind.api.app import create_app
from platebind.registry import agents
from tests.api.conftest import LiveServer, serve
from tests.conftest import ADMIN
from tests.webhooks.conftest import Hooks
from tests.webhooks.receiver import Receiver

PROBLEM = "application/problem+json"


@pytest.fixture
def server(hooks: Hooks) -> Iterator[LiveServer]:
    """The real app on the test's database and clock."""
    with serve(create_app(hooks.db.url, clock=hooks.db.clock)) as running:
        yield running


@pytest.fixture
def api(server: LiveServer, hooks: Hooks) -> Iterator[dict[str, httpx.Client]]:
    """One client per agent, with its key."""
    clients = {
        agent_id: httpx.Client(
            base_url=server.base_url, timeout=10, headers={"authorization": f"Bearer {key}"}
        )
        for agent_id, key in hooks.keys.items()
    }
    yield clients
    for client in clients.values():
        client.close()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = response.json()
    assert doc["code"] == code
    return doc


def test_an_agent_sets_its_endpoint_and_gets_a_secret_that_signs_its_events(
    api: dict[str, httpx.Client], hooks: Hooks, receiver: Receiver
) -> None:
    cmj = api["cmj"]
    _problem(cmj.get("/v1/webhook-endpoint"), 404, "webhook_endpoint_not_set")

    put = cmj.put("/v1/webhook-endpoint", json={"url": receiver.url})
    assert put.status_code == 200, put.text
    assert put.json()["url"] == receiver.url
    secret = put.json()["secret"]
    assert secret.startswith("whsec_")
    assert cmj.get("/v1/webhook-endpoint").json() == {"url": receiver.url}  # no secret
    _problem(api["pi"].get("/v1/webhook-endpoint"), 404, "webhook_endpoint_not_set")

    hooks.bind("cmj")
    hooks.run()
    (got,) = receiver.requests
    assert Webhook(secret).verify(got.body, got.headers)["data"]["agent"] == "cmj"


@pytest.mark.parametrize(
    "url",
    ["ftp://agent.example/hooks", "https:///no-host", "agent.example/hooks", "http://x:99999/"],
)
def test_an_endpoint_that_is_not_an_http_url_is_refused(
    api: dict[str, httpx.Client], url: str
) -> None:
    doc = _problem(
        api["cmj"].put("/v1/webhook-endpoint", json={"url": url}), 422, "invalid_webhook_url"
    )
    assert doc["field"] == "url"
    _problem(api["cmj"].get("/v1/webhook-endpoint"), 404, "webhook_endpoint_not_set")


def test_deliveries_show_status_and_every_attempt_and_can_be_redelivered(
    api: dict[str, httpx.Client], hooks: Hooks, receiver: Receiver
) -> None:
    cmj = api["cmj"]
    cmj.put("/v1/webhook-endpoint", json={"url": receiver.url}).raise_for_status()
    hooks.bind("cmj")
    receiver.fail_next(1, "500")
    hooks.run()
    (event,) = hooks.events("cmj")
    hooks.move_to_next_attempt(event.id)
    hooks.run()

    page = cmj.get("/v1/webhooks/deliveries").json()
    (item,) = page["items"]
    assert page["next_cursor"] is None
    assert item["id"] == f"evt_{event.id}"
    assert (item["type"], item["status"], item["attempts"]) == ("binding.scheduled", "delivered", 2)
    assert item["next_attempt_at"] is None
    assert item["payload"]["data"]["plate"] == "ABC-1234"
    assert [a["status_code"] for a in item["attempt_log"]] == [500, 200]
    assert item["attempt_log"][0]["error"] == "HTTP 500: receiver is down"
    assert item["attempt_log"][0]["url"] == receiver.url

    redelivered = cmj.post(f"/v1/webhooks/deliveries/{item['id']}/redeliver")
    assert redelivered.status_code == 202, redelivered.text
    assert (redelivered.json()["status"], redelivered.json()["attempts"]) == ("pending", 0)
    assert cmj.get("/v1/webhooks/deliveries", params={"status": "pending"}).json()["items"]
    hooks.run()
    assert receiver.delivered_ids() == {item["id"]: 2}
    assert cmj.get("/v1/webhooks/deliveries", params={"status": "pending"}).json()["items"] == []


def test_another_agents_delivery_is_not_found_and_not_listed(
    api: dict[str, httpx.Client], hooks: Hooks
) -> None:
    hooks.bind("pi")
    (event,) = hooks.events("pi")

    assert api["cmj"].get("/v1/webhooks/deliveries").json()["items"] == []
    for delivery_id in (f"evt_{event.id}", "evt_999999", "nonsense"):
        response = api["cmj"].post(f"/v1/webhooks/deliveries/{delivery_id}/redeliver")
        _problem(response, 404, "delivery_not_found")
    assert hooks.event(event.id).attempts == 0
    assert api["pi"].post(f"/v1/webhooks/deliveries/evt_{event.id}/redeliver").status_code == 202


def test_deliveries_are_paged_newest_first_and_filtered_by_status(
    api: dict[str, httpx.Client], hooks: Hooks
) -> None:
    for n in range(5):
        hooks.bind("cmj", f"ABC-000{n + 1}")
    expected = [f"evt_{e.id}" for e in reversed(hooks.events("cmj"))]

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api["cmj"].get("/v1/webhooks/deliveries", params=params).json()
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == expected
    empty = api["cmj"].get("/v1/webhooks/deliveries", params={"status": "failed"}).json()
    assert empty == {"items": [], "next_cursor": None}
    for cursor in ("!!", _b64("x1"), _b64(f"d{2**63}"), _b64("d" + "9" * 5000)):
        bad = api["cmj"].get("/v1/webhooks/deliveries", params={"cursor": cursor})
        assert _problem(bad, 422, "invalid_input")["field"] == "cursor"
    _problem(api["cmj"].get("/v1/webhooks/deliveries?status=lost"), 422, "validation_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/webhook-endpoint"),
        ("PUT", "/v1/webhook-endpoint"),
        ("GET", "/v1/webhooks/deliveries"),
        ("POST", "/v1/webhooks/deliveries/evt_1/redeliver"),
    ],
)
def test_every_route_wants_an_active_agents_key(
    server: LiveServer, hooks: Hooks, method: str, path: str
) -> None:
    body = {"url": "https://agent.example/hooks"} if method == "PUT" else None
    with server.client() as client:
        _problem(client.request(method, path, json=body), 401, "unauthenticated")
        with hooks.db.tx() as s:
            agents.set_agent_status(s, hooks.db.clock, ADMIN, "cmj", "suspended")
        headers = {"authorization": f"Bearer {hooks.keys['cmj']}"}
        _problem(client.request(method, path, json=body, headers=headers), 403, "forbidden")


def test_openapi_documents_the_routes_and_their_problems(server: LiveServer) -> None:
    with server.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/v1/webhook-endpoint", "put"): {"200", "401", "403", "413", "422"},
        ("/v1/webhook-endpoint", "get"): {"200", "401", "403", "404"},
        ("/v1/webhooks/deliveries", "get"): {"200", "401", "403", "422"},
        ("/v1/webhooks/deliveries/{delivery_id}/redeliver", "post"): {
            "202", "401", "403", "404", "422",
        },
    }  # fmt: skip
    for (path, method), statuses in expected.items():
        assert set(paths[path][method]["responses"]) == statuses
