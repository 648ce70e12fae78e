"""The agents' binding API against a real server on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from sqlalchemy import select

from platebind.registry import agents, transfers
from platebind.registry.models import AuditEntry, Binding
from tests.api.conftest import LiveServer
from tests.conftest import ADMIN, Db
from tests.registry.test_cutover import tpe
from tests.registry.world import build_world

BIND = {"scope": "tpe-lots", "vehicle_type": "car", "plate": "abc 1234"}


class Agents:
    """One authenticated client per agent of the test world."""

    def __init__(self, server: LiveServer, keys: dict[str, str]) -> None:
        self.clients = {
            agent: httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
            )
            for agent, key in keys.items()
        }

    def __getitem__(self, agent: str) -> httpx.Client:
        return self.clients[agent]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def api(db: Db, live_server: LiveServer) -> Iterator[Agents]:
    keys = build_world(db).keys
    db.clock.set(tpe("2026-11-26 10:00"))
    clients = Agents(live_server, keys)
    yield clients
    clients.close()


def test_bind_answers_201_with_the_exact_effective_time(api: Agents) -> None:
    response = api["cmj"].post("/v1/bindings", json=BIND)
    assert response.status_code == 201
    body = response.json()
    assert body["plate"] == "ABC-1234"
    assert body["agent"] == "cmj"
    assert body["status"] == "scheduled"
    assert body["valid_from"] == "2026-11-27T04:00:00+08:00"
    assert body["effective_at"] == "2026-11-27T04:00:00+08:00"
    assert body["valid_to"] is None
    again = api["cmj"].post("/v1/bindings", json=BIND)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]


def test_conflict_is_a_409_problem_without_the_holder(api: Agents) -> None:
    api["cmj"].post("/v1/bindings", json=BIND)
    response = api["pi"].post("/v1/bindings", json=BIND)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "plate_bound_elsewhere"
    assert problem["transfer_possible"] is True
    assert problem["status"] == 409
    assert "cmj" not in response.text


def test_transfer_code_moves_the_plate_through_the_api(db: Db, api: Agents) -> None:
    api["cmj"].post("/v1/bindings", json=BIND)
    with db.tx() as s:
        code = transfers.issue(s, db.clock, ADMIN, "tpe-lots", "car", "ABC-1234").code
    response = api["pi"].post("/v1/bindings", json={**BIND, "transfer_code": code})
    assert response.status_code == 201
    assert response.json()["agent"] == "pi"
    reused = api["jko"].post("/v1/bindings", json={**BIND, "transfer_code": code})
    assert reused.json()["code"] == "transfer_code_invalid"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"scope": "tpe-lots", "vehicle_type": "car"}, "validation_error", "plate"),
        ({**BIND, "vehicle_type": "bus"}, "validation_error", "vehicle_type"),
        ({**BIND, "extra": 1}, "validation_error", "extra"),
        ({**BIND, "plate": "AB-12"}, "invalid_plate", None),
        ({**BIND, "scope": "nowhere"}, "scope_not_found", None),
    ],
)
def test_bad_input_is_a_specific_problem_and_writes_nothing(
    db: Db, api: Agents, body: dict[str, object], code: str, field: str | None
) -> None:
    response = api["cmj"].post("/v1/bindings", json=body)
    problem = response.json()
    assert response.status_code in (404, 422)
    assert problem["code"] == code
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]]
    with db.tx() as s:
        assert s.scalars(select(Binding)).first() is None


def test_malformed_json_is_a_422_problem(api: Agents) -> None:
    response = api["cmj"].post(
        "/v1/bindings", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_agents_see_only_their_own_bindings(api: Agents) -> None:
    mine = api["cmj"].post("/v1/bindings", json=BIND).json()
    api["pi"].post("/v1/bindings", json={**BIND, "plate": "XYZ-5678"})
    assert api["cmj"].get(f"/v1/bindings/{mine['id']}").status_code == 200
    other = api["pi"].get(f"/v1/bindings/{mine['id']}")
    assert other.status_code == 404
    assert other.json()["code"] == "binding_not_found"
    listed = api["pi"].get("/v1/bindings").json()
    assert [b["plate"] for b in listed["items"]] == ["XYZ-5678"]
    assert api["pi"].delete(f"/v1/bindings/{mine['id']}").status_code == 404


def test_list_filters_and_paginates(api: Agents) -> None:
    plates = [f"ABC-{n:04d}" for n in range(1, 8)]
    for plate in plates:
        api["cmj"].post("/v1/bindings", json={**BIND, "plate": plate})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api["cmj"].get("/v1/bindings", params=params).json()
        seen += [b["plate"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == plates
    one = api["cmj"].get("/v1/bindings", params={"plate": "abc0003", "vehicle_type": "car"})
    assert [b["plate"] for b in one.json()["items"]] == ["ABC-0003"]
    active = api["cmj"].get("/v1/bindings", params={"status": "active"})
    assert active.json()["items"] == []
    scheduled = api["cmj"].get("/v1/bindings", params={"status": "scheduled"})
    assert len(scheduled.json()["items"]) == len(plates)
    bad = api["cmj"].get("/v1/bindings", params={"cursor": "garbage!"})
    assert bad.status_code == 422


def test_unbind_answers_202_with_the_end_and_is_repeatable(db: Db, api: Agents) -> None:
    binding = api["cmj"].post("/v1/bindings", json=BIND).json()
    db.clock.set(tpe("2026-11-28 12:00"))
    ended = api["cmj"].delete(f"/v1/bindings/{binding['id']}")
    assert ended.status_code == 202
    assert ended.json()["valid_to"] == "2026-11-29T04:00:00+08:00"
    assert ended.json()["status"] == "ending"
    again = api["cmj"].delete(f"/v1/bindings/{binding['id']}")
    assert again.json()["valid_to"] == ended.json()["valid_to"]


def test_change_feed_for_an_agent_holds_only_its_own(api: Agents) -> None:
    api["cmj"].post("/v1/bindings", json=BIND)
    api["pi"].post("/v1/bindings", json={**BIND, "plate": "XYZ-5678"})
    api["cmj"].post("/v1/bindings", json={**BIND, "plate": "XYZ-5679"})
    page = api["cmj"].get("/v1/scopes/tpe-lots/changes", params={"after": 0}).json()
    assert [c["seq"] for c in page["changes"]] == [1, 3]
    assert {c["agent"] for c in page["changes"]} == {"cmj"}
    assert page["next_after"] == 3
    later = api["cmj"].get("/v1/scopes/tpe-lots/changes", params={"after": 1}).json()
    assert [c["seq"] for c in later["changes"]] == [3]
    missing = api["cmj"].get("/v1/scopes/nowhere/changes")
    assert missing.status_code == 404


def test_snapshot_streams_ndjson_with_its_seq(api: Agents) -> None:
    for plate in ("ABC-0001", "ABC-0002"):
        api["cmj"].post("/v1/bindings", json={**BIND, "plate": plate})
    api["pi"].post("/v1/bindings", json={**BIND, "plate": "XYZ-5678"})
    response = api["cmj"].get("/v1/scopes/tpe-lots/snapshot")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    header, *lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert header["seq"] == 3
    assert [b["plate"] for b in lines] == ["ABC-0001", "ABC-0002"]


def test_request_id_is_echoed_and_audited(db: Db, api: Agents) -> None:
    response = api["cmj"].post("/v1/bindings", json=BIND, headers={"X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    generated = api["cmj"].get("/v1/bindings").headers["x-request-id"]
    assert len(generated) == 32
    with db.tx() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "binding.bind")).one()
    assert (entry.actor_type, entry.actor_id, entry.request_id) == ("agent", "cmj", "req-42")


def test_idempotent_retry_returns_the_first_answer_and_binds_once(db: Db, api: Agents) -> None:
    headers = {"Idempotency-Key": "bind-abc-1"}
    first = api["cmj"].post("/v1/bindings", json=BIND, headers=headers)
    retry = api["cmj"].post("/v1/bindings", json=BIND, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    with db.tx() as s:
        assert len(list(s.scalars(select(Binding)))) == 1
    other_body = api["cmj"].post(
        "/v1/bindings", json={**BIND, "plate": "XYZ-5678"}, headers=headers
    )
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    # Keys are per credential: another agent's same key is its own.
    assert api["pi"].post("/v1/bindings", json=BIND, headers=headers).status_code == 409


def test_a_refusal_is_kept_for_its_key(db: Db, api: Agents) -> None:
    holder = api["cmj"].post("/v1/bindings", json=BIND).json()
    headers = {"Idempotency-Key": "try-1"}
    assert api["pi"].post("/v1/bindings", json=BIND, headers=headers).status_code == 409
    api["cmj"].delete(f"/v1/bindings/{holder['id']}")  # cancelled: the plate is free now
    retry = api["pi"].post("/v1/bindings", json=BIND, headers=headers)
    assert retry.status_code == 409
    assert retry.headers["idempotent-replayed"] == "true"
    assert (
        api["pi"].post("/v1/bindings", json=BIND, headers={"Idempotency-Key": "try-2"}).status_code
        == 201
    )


def test_keys_are_checked(db: Db, api: Agents, live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url) as anonymous:
        assert anonymous.get("/v1/bindings").json()["code"] == "unauthenticated"
        wrong = anonymous.get("/v1/bindings", headers={"Authorization": "Bearer pbk_x_y"})
        assert wrong.status_code == 401
    with db.tx() as s:
        agents.set_agent_status(s, db.clock, ADMIN, "cmj", "suspended")
    suspended = api["cmj"].get("/v1/bindings")
    assert suspended.status_code == 403
    assert suspended.json()["code"] == "forbidden"
