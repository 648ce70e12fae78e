"""The authorisation matrix: every /v1 operation × every kind of caller, one table.

A new route that is not in the table fails ``test_every_operation_is_in_the_matrix``, so no
route can ship without its authorisation being tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import pytest

from platebind.registry import agents, service
from platebind.webhooks import service as webhooks
from tests.api.conftest import LiveServer
from tests.conftest import ADMIN, Db
from tests.registry.world import build_world

BIND = {"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # {binding} and {delivery} are filled with the owner's (cmj's) resources
    body: Mapping[str, object] | None = None
    owned: bool = False  # has a resource another agent must not see (404 for it)


MATRIX = [
    Operation("POST", "/v1/bindings", BIND),
    Operation("GET", "/v1/bindings"),
    Operation("GET", "/v1/bindings/{binding}", owned=True),
    Operation("DELETE", "/v1/bindings/{binding}", owned=True),
    Operation("GET", "/v1/scopes/tpe-lots/changes"),
    Operation("GET", "/v1/scopes/tpe-lots/snapshot"),
    Operation("PUT", "/v1/webhook-endpoint", {"url": "http://127.0.0.1:9/hook"}),
    Operation("GET", "/v1/webhook-endpoint"),
    Operation("GET", "/v1/webhooks/deliveries"),
    Operation("POST", "/v1/webhooks/deliveries/{delivery}/redeliver", owned=True),
]


@dataclass
class Fixture:
    server: LiveServer
    keys: dict[str, str]
    binding: str
    delivery: str


@pytest.fixture
def world(db: Db, live_server: LiveServer) -> Fixture:
    keys = build_world(db).keys
    with db.tx() as s:
        bound = service.bind(
            s,
            db.clock,
            ADMIN,
            agent_id="cmj",
            scope_id="tpe-lots",
            vehicle_type="car",
            plate="XYZ-5678",
        )
        webhooks.set_endpoint(s, db.clock, ADMIN, "cmj", "http://127.0.0.1:9/hook")
        webhooks.set_endpoint(s, db.clock, ADMIN, "pi", "http://127.0.0.1:9/hook")
    with db.tx() as s:
        (event,) = webhooks.events_for(s, "cmj")
    return Fixture(live_server, keys, str(bound.binding.id), f"evt_{event.id}")


def call(fx: Fixture, op: Operation, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    path = op.path.format(binding=fx.binding, delivery=fx.delivery)
    with httpx.Client(base_url=fx.server.base_url, timeout=10) as client:
        return client.request(op.method, path, json=op.body, headers=headers)


def ids(op: Operation) -> str:
    return f"{op.method} {op.path}"


@pytest.mark.parametrize("op", MATRIX, ids=ids)
def test_no_key_and_wrong_key_are_401(world: Fixture, op: Operation) -> None:
    for key in (None, "pbk_0000000000000000_not-a-key", "garbage"):
        response = call(world, op, key)
        assert response.status_code == 401, (key, response.text)
        assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("op", MATRIX, ids=ids)
def test_suspended_agent_is_403(db: Db, world: Fixture, op: Operation) -> None:
    with db.tx() as s:
        agents.set_agent_status(s, db.clock, ADMIN, "cmj", "suspended")
    response = call(world, op, world.keys["cmj"])
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("op", [op for op in MATRIX if op.owned], ids=ids)
def test_another_agents_resource_is_404(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys["pi"])
    assert response.status_code == 404
    assert response.json()["code"].endswith("not_found")


@pytest.mark.parametrize("op", MATRIX, ids=ids)
def test_the_owner_is_served(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys["cmj"])
    assert 200 <= response.status_code < 300, response.text


def test_every_operation_is_in_the_matrix(world: Fixture) -> None:
    with httpx.Client(base_url=world.server.base_url) as client:
        spec = client.get("/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method in item
    }
    covered = {
        (
            op.method,
            op.path.replace("{binding}", "{binding_id}")
            .replace("{delivery}", "{delivery_id}")
            .replace("tpe-lots", "{scope}"),
        )
        for op in MATRIX
    }
    assert documented == covered
