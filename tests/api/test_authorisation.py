"""The authorisation matrix: every /v1 operation × every kind of caller, one table.

A new route that is not in the table fails ``test_every_operation_is_in_the_matrix``, so no
route can ship without its authorisation being tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from platebind.billing.models import Charge
from platebind.portal import accounts, sessions
from platebind.portal.accounts import Registration
from platebind.portal.models import MemberPlate
from platebind.registry import agents, service
from platebind.roadside import service as roadside
from platebind.webhooks import service as webhooks
from tests.api.conftest import LiveServer
from tests.conftest import ADMIN, Db
from tests.parking.gate_world import LOT, OTHER_LOT, build_gate_world, post, tpe
from tests.parking.gate_world import event as gate_event
from tests.vehicles.extracts import ALICE, KEY

BIND = {"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"}
ENTRY = {
    "event_id": "auth-entry-2",
    "gate": "entry",
    "plate": "BCD-2345",
    "vehicle_type": "car",
    "at": "2026-11-27T13:00:00+08:00",
    "confidence": 0.97,
}
RECONCILE_CSV = b"charge_id,kind,amount\n"
WARDEN = "w-0017"
ROADSIDE_BILL = {
    "bill_no": "AUTH-1",
    "vehicle_type": "car",
    "plate": "ABC-1234",
    "segment": "ZX0401",
    "started_at": "2026-11-27T10:00:00+08:00",
    "ended_at": "2026-11-27T11:10:00+08:00",
    "issued_at": "2026-11-27T11:15:00+08:00",
}


@dataclass(frozen=True)
class Operation:
    method: str
    # {binding}, {delivery}, {charge} and {session} are filled with the owner's resources:
    # cmj's (agent operations) or lot TPE9001's (lot operations).
    path: str
    body: Mapping[str, object] | None = None
    owned: bool = False  # has a resource another caller of the same kind must not see
    caller: str = "agent"  # whose key is served: "agent", "lot" or "warden"
    content: bytes | None = None  # a raw body (CSV) instead of JSON


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
    Operation("GET", "/v1/charges"),
    Operation("GET", "/v1/charges/{charge}", owned=True),
    Operation(
        "POST", "/v1/charges/{charge}/settle", {"outcome": "paid", "reference": "r-1"}, owned=True
    ),  # fmt: skip
    Operation("GET", "/v1/statements/2026-11-27"),
    Operation("POST", "/v1/statements/2026-11-27/reconcile", content=RECONCILE_CSV),
    Operation("GET", "/v1/sessions/{session}", owned=True),
    Operation("GET", "/v1/sessions/{session}", owned=True, caller="lot"),
    Operation("POST", "/v1/lots/TPE9001/events", ENTRY, owned=True, caller="lot"),
    Operation(
        "POST",
        "/v1/lots/TPE9001/sessions/{paying}/close",
        {"outcome": "paid_at_station", "amount": 75},
        owned=True,
        caller="lot",
    ),  # fmt: skip
    Operation("POST", "/v1/roadside/bills", ROADSIDE_BILL, caller="warden"),
]
AGENT_OPS = [op for op in MATRIX if op.caller == "agent"]
LOT_OPS = [op for op in MATRIX if op.caller == "lot"]
WARDEN_OPS = [op for op in MATRIX if op.caller == "warden"]


@dataclass
class Fixture:
    server: LiveServer
    keys: dict[str, str]  # agents', lots' and the warden's keys by agent, lot or warden id
    binding: str
    delivery: str
    charge: str
    session: str
    paying: str  # a ticket session waiting at the pay station


@pytest.fixture
def world(db: Db, live_server: LiveServer) -> Fixture:
    gate = build_gate_world(db)
    keys = gate.agent_keys | gate.lot_keys
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
        keys[WARDEN] = roadside.issue_warden_key(s, db.clock, ADMIN, WARDEN)
        roadside.add_segment(
            s,
            db.clock.now(),
            ADMIN,
            segment_id="ZX0401",
            scope_id="tpe-roadside",
            name="忠孝東路四段",
            payex="計時：30元/時，全程以半小時計。",
        )
    with db.tx() as s:
        (event,) = webhooks.events_for(s, "cmj")
    # A card-free visit of cmj's plate on Friday (its binding is active from 04:00): a
    # session of lot TPE9001 charged to cmj.
    entered = post(db, gate_event("auth-entry-1", "entry", "XYZ-5678", tpe("2026-11-27 10:00")))
    exited = post(db, gate_event("auth-exit-1", "exit", "XYZ-5678", tpe("2026-11-27 12:10")))
    assert entered["action"] == exited["action"] == "open"
    # A visitor who takes a ticket and is asked to pay: the lot closes that session itself.
    ticket = post(db, gate_event("auth-entry-3", "entry", "CDE-3456", tpe("2026-11-27 10:30")))
    paying = post(db, gate_event("auth-exit-3", "exit", "CDE-3456", tpe("2026-11-27 12:00")))
    assert (ticket["action"], paying["action"]) == ("ticket", "pay")
    with db.tx() as s:
        charge = s.scalars(select(Charge)).one()
    return Fixture(
        live_server,
        keys,
        str(bound.binding.id),
        f"evt_{event.id}",
        str(charge.id),
        entered["session_id"],
        paying["session_id"],
    )


def call(fx: Fixture, op: Operation, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    path = op.path.format(
        binding=fx.binding,
        delivery=fx.delivery,
        charge=fx.charge,
        session=fx.session,
        paying=fx.paying,
    )
    if op.content is not None:
        headers["Content-Type"] = "text/csv"
    with httpx.Client(base_url=fx.server.base_url, timeout=10) as client:
        return client.request(op.method, path, json=op.body, content=op.content, headers=headers)


OWNER = {"agent": "cmj", "lot": LOT, "warden": WARDEN}
# A warden's operation owns no resource (a bill number is the city's, not the warden's).
OTHER = {"agent": "pi", "lot": OTHER_LOT}


def ids(op: Operation) -> str:
    return f"{op.method} {op.path}"


@pytest.mark.parametrize("op", MATRIX, ids=ids)
def test_no_key_and_wrong_key_are_401(world: Fixture, op: Operation) -> None:
    for key in (None, "pbk_0000000000000000_not-a-key", "garbage"):
        response = call(world, op, key)
        assert response.status_code == 401, (key, response.text)
        assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("op", AGENT_OPS, ids=ids)
def test_suspended_agent_is_403(db: Db, world: Fixture, op: Operation) -> None:
    with db.tx() as s:
        agents.set_agent_status(s, db.clock, ADMIN, "cmj", "suspended")
    response = call(world, op, world.keys["cmj"])
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("op", [op for op in AGENT_OPS if op.owned], ids=ids)
def test_another_agents_resource_is_404(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys["pi"])
    assert response.status_code == 404
    assert response.json()["code"].endswith("not_found")


@pytest.mark.parametrize("op", [op for op in LOT_OPS if op.owned], ids=ids)
def test_another_lots_key_is_refused(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys[OTHER_LOT])
    assert response.status_code in (403, 404), response.text
    assert response.json()["code"] in ("forbidden", "session_not_found")


@pytest.mark.parametrize("op", AGENT_OPS, ids=ids)
def test_a_lot_key_cannot_call_an_agent_operation(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys[LOT])
    if op.path == "/v1/sessions/{session}":
        assert response.status_code == 200  # the lot's own session: see the lot row
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("op", LOT_OPS, ids=ids)
def test_an_agent_key_cannot_call_a_lot_operation(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys["cmj"])
    if op.path == "/v1/sessions/{session}":
        assert response.status_code == 200  # cmj's own card-free session: see the agent row
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("op", WARDEN_OPS, ids=ids)
def test_an_agent_or_lot_key_cannot_call_a_warden_operation(world: Fixture, op: Operation) -> None:
    for key in (world.keys["cmj"], world.keys[LOT]):
        response = call(world, op, key)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("op", AGENT_OPS + LOT_OPS, ids=ids)
def test_a_warden_key_cannot_call_an_agent_or_lot_operation(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys[WARDEN])
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("op", MATRIX, ids=ids)
def test_the_owner_is_served(world: Fixture, op: Operation) -> None:
    response = call(world, op, world.keys[OWNER[op.caller]])
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
            .replace("{charge}", "{charge_id}")
            .replace("{session}", "{session_id}")
            .replace("{paying}", "{session_id}")
            .replace("/lots/TPE9001/", "/lots/{lot_id}/")
            .replace("tpe-lots", "{scope}")
            .replace("2026-11-27", "{date}"),
        )
        for op in MATRIX
    }
    assert documented == covered


# ---------------------------------------------------------------------------------------------
# Members (portal sessions), anonymous visitors and administrators

MEMBER_PAGES = [
    "/portal/bills",
    "/portal/bills/parking",
    "/portal/plates",
    "/portal/plates/car/XYZ-5678",
    "/portal/notices",
]
# Every route that is neither a /v1 operation (the matrix) nor a portal page: none of them
# acts on the registry. Administration has no HTTP route at all: it is the CLI, run by the
# operator on the database's host.
OPERATIONS_ROUTES = {
    "/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
}


@pytest.fixture
def member_session(db: Db, world: Fixture) -> str:
    """A logged-in portal member's session cookie (the member has XYZ-5678 on the list)."""
    with db.tx() as s:
        member = accounts.register(
            s, Registration("member@example.tw", "a long passphrase", ALICE), db.clock.now(), KEY
        )
        s.add(
            MemberPlate(
                member_id=member.id, vehicle_type="car", plate="XYZ-5678", added_at=db.clock.now()
            )
        )
        return sessions.start(s, db.clock.now(), member.id).token


@pytest.mark.parametrize("op", MATRIX, ids=ids)
def test_a_portal_members_session_opens_no_api_operation(
    world: Fixture, member_session: str, op: Operation
) -> None:
    with httpx.Client(base_url=world.server.base_url, timeout=10) as client:
        client.cookies.set(sessions.COOKIE_NAME, member_session)
        path = op.path.format(
            binding=world.binding,
            delivery=world.delivery,
            charge=world.charge,
            session=world.session,
            paying=world.paying,
        )
        response = client.request(op.method, path, json=op.body, content=op.content)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthenticated"


def test_member_pages_need_a_member_session_not_an_api_key(
    world: Fixture, member_session: str
) -> None:
    base = world.server.base_url
    for path in MEMBER_PAGES:
        member = httpx.get(base + path, cookies={sessions.COOKIE_NAME: member_session})
        assert member.status_code == 200, (path, member.text)
        for key in (None, world.keys["cmj"], world.keys[LOT], world.keys[WARDEN]):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            refused = httpx.get(base + path, headers=headers)
            assert refused.status_code == 303, (path, key)
            assert refused.headers["location"].startswith("/portal/login")


def _route_paths(app: FastAPI) -> set[str]:
    """Every route's path template; FastAPI keeps included routers nested."""
    paths = set()
    for route in app.routes:
        nested = getattr(route, "effective_route_contexts", None)
        if nested is not None:
            paths |= {context.path_format for context in nested()}
        else:
            paths.add(getattr(route, "path", ""))
    return paths


def test_no_route_outside_the_matrix_and_the_portal_acts_for_anyone(world: Fixture) -> None:
    paths = _route_paths(world.server.app)
    assert "/v1/bindings" in paths
    assert "/portal/plates" in paths
    others = {p for p in paths if not p.startswith(("/v1/", "/portal/")) and p != "/portal"}
    assert others == OPERATIONS_ROUTES
