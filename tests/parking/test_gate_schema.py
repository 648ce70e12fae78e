"""The gate routes against their OpenAPI document, fuzzed with a lot's own key (the general
schema test in ``tests/api`` calls them with an agent's key, which they refuse): on a live
server with sessions in every state (SQLite and PostgreSQL), every answer must be documented —
status, content type, body — and never a 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from platebind.api.app import create_app
from tests.api.conftest import serve
from tests.api.test_schema import FUZZ_SETTINGS, Case, schema, validate
from tests.conftest import module_database
from tests.parking.gate_world import LOT, bind, build_gate_world, tpe

NOW = tpe("2026-11-27 12:00")
EVENTS = schema["/v1/lots/{lot_id}/events"]["POST"]
CLOSE = schema["/v1/lots/{lot_id}/sessions/{session_id}/close"]["POST"]
SESSION = schema["/v1/sessions/{session_id}"]["GET"]


@dataclass(frozen=True)
class Target:
    base_url: str
    headers: dict[str, str]
    sessions: list[str]


def _seed(base_url: str, key: str) -> list[str]:
    """Sessions open, exiting (pay) and closed (card-free), through the API."""
    headers = {"Authorization": f"Bearer {key}"}

    def post(event_id: str, gate: str, plate: str, at: str) -> Any:
        body = {"event_id": event_id, "gate": gate, "plate": plate, "vehicle_type": "car",
                "at": f"{at}+08:00", "confidence": 0.97}  # fmt: skip
        answer = httpx.post(f"{base_url}/v1/lots/{LOT}/events", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    made = [post(f"in-{p}", "entry", p, "2026-11-27T08:00") for p in ("ABC-1234", "XYZ-5678")]
    made.append(post("in-3", "entry", "KLM-1111", "2026-11-27T09:00"))
    post("out-1", "exit", "ABC-1234", "2026-11-27T10:10")
    post("out-2", "exit", "XYZ-5678", "2026-11-27T10:10")
    return [m["session_id"] for m in made]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    with module_database(request, tmp_path_factory, "gates") as db:
        world = build_gate_world(db)
        bind(db, "cmj", "ABC-1234")
        db.clock.set(NOW)
        with serve(create_app(db.url, clock=db.clock)) as server:
            key = world.lot_keys[LOT]
            seeded = _seed(server.base_url, key)
            yield Target(server.base_url, {"Authorization": f"Bearer {key}"}, seeded)


def check(case: Case, target: Target) -> None:
    response = case.call(base_url=target.base_url, headers=target.headers)
    validate(case, response, target.headers)


# Reads a gate could send around the server's clock; random text plates and times too.
_TIMES = [(NOW + timedelta(minutes=m)).isoformat() for m in (-600, -300, -30, -6, 0, 4, 90)]
_PLATES = st.one_of(
    st.sampled_from(["ABC-1234", "abc1234", "A8C1Z34", "XYZ-5678", "KLM-1111", "KLM-III1"]),
    st.text(min_size=1, max_size=32),
)
_EVENTS = st.fixed_dictionaries(
    {
        "event_id": st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True),
        "gate": st.sampled_from(["entry", "exit"]),
        "plate": _PLATES,
        "vehicle_type": st.sampled_from(["car", "motorcycle", "heavy_motorcycle"]),
        "at": st.sampled_from(_TIMES),
        "confidence": st.floats(min_value=0, max_value=1),
    },
    optional={
        "decided_action": st.sampled_from(["open", "ticket", "pay", "attendant"]),
        "replayed": st.booleans(),
        "image_ref": st.text(max_size=40),
    },
)
_OWN_LOT = {"lot_id": LOT}


@given(
    case=st.one_of(
        EVENTS.as_strategy(path_parameters=_OWN_LOT),
        EVENTS.as_strategy(GenerationMode.NEGATIVE, path_parameters=_OWN_LOT),
        _EVENTS.flatmap(
            lambda body: EVENTS.as_strategy(
                path_parameters=_OWN_LOT, body=body, media_type="application/json"
            )
        ),
        EVENTS.as_strategy(),
    )
)
@FUZZ_SETTINGS
def test_events_answer_as_documented(case: Case, target: Target) -> None:
    check(case, target)


@given(data=st.data())
@FUZZ_SETTINGS
def test_sessions_answer_as_documented(data: st.DataObject, target: Target) -> None:
    session_id = data.draw(st.sampled_from([*target.sessions, str(uuid.uuid4())]))
    by_id = {"session_id": session_id}
    check(data.draw(SESSION.as_strategy(path_parameters=by_id)), target)
    close = st.one_of(
        CLOSE.as_strategy(path_parameters={**_OWN_LOT, **by_id}),
        CLOSE.as_strategy(GenerationMode.NEGATIVE, path_parameters={**_OWN_LOT, **by_id}),
        CLOSE.as_strategy(),
    )
    check(data.draw(close), target)


def test_each_answer_of_the_seeded_sessions_is_documented(target: Target) -> None:
    for session_id in target.sessions:
        case = SESSION.Case(path_parameters={"session_id": session_id})
        response = case.call(base_url=target.base_url, headers=target.headers)
        assert response.status_code == 200
        validate(case, response, target.headers)
