"""Schemathesis in stateful mode: sequences of calls over the whole API, chained by the links of
``/openapi.json`` (a bind's ``id`` → get it, unbind it; a gate event's ``session_id`` → the
session, closing it; a listing's first item → that item, settling or redelivering it).

Each operation is called with the key that may use it — an agent's, the lot TPE9001's for the
gate routes, a warden's for roadside bills — on a live server with a seeded world (SQLite and
PostgreSQL). Every answer goes through the same checks as the stateless fuzzing
(``tests/api/test_schema.py``): no 5xx, and status, content type and body as documented.

Bounded for the normal suite (few scenarios of few steps, ``derandomize``); deeper with
``PLATEBIND_STATEFUL_EXAMPLES`` (scenarios) and ``PLATEBIND_STATEFUL_STEPS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import HookContext, Response
from sqlalchemy import select

from platebind.api.app import create_app
from platebind.db import Base
from platebind.models import import_all_models
from platebind.registry import service as registry
from platebind.roadside import service as roadside
from platebind.webhooks import service as webhooks
from tests.api.conftest import serve
from tests.api.test_schema import Case, validate
from tests.conftest import ADMIN, T0, Db, module_database
from tests.parking.gate_world import LOT, build_gate_world

SCENARIOS = int(os.environ.get("PLATEBIND_STATEFUL_EXAMPLES", "12"))
STEPS = int(os.environ.get("PLATEBIND_STATEFUL_STEPS", "8"))
WARDEN = "w-0017"
SEGMENT = "ZX0401"


def _load_schema() -> Any:
    """A schema object of its own: the state machine adds inferred links to it, which the
    stateless module's schema should not see."""
    with serve(create_app("sqlite://")) as server:
        return schemathesis.openapi.from_url(
            f"{server.base_url}/openapi.json", config=schemathesis.Config(), timeout=10
        )


schema = _load_schema()

# Random strings rarely name a scope, a lot or a plate: half of the generated inputs are
# plausible ones, so that scenarios get past validation and chain real resources.
_PLATES = st.one_of(
    st.sampled_from(["ABC-1234", "abc1234", "XYZ-5678", "KLM-0001", "A8C-1234", "123-ABC"]),
    st.from_regex(r"[A-HJ-NP-Z]{3}-[0-9]{4}", fullmatch=True),
)
_BINDS = st.fixed_dictionaries(
    {
        "scope": st.sampled_from(["tpe-lots", "tpe-roadside", "instant"]),
        "vehicle_type": st.sampled_from(["car", "motorcycle", "heavy_motorcycle"]),
        "plate": _PLATES,
    }
)
_EVENTS = st.fixed_dictionaries(
    {
        "event_id": st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True),
        "gate": st.sampled_from(["entry", "exit"]),
        "plate": _PLATES,
        "vehicle_type": st.sampled_from(["car", "motorcycle"]),
        "at": st.sampled_from(
            [(T0 + timedelta(minutes=m)).isoformat() for m in (-90, -30, -6, 0, 4, 45, 180)]
        ),
        "confidence": st.floats(min_value=0, max_value=1),
    },
    optional={"decided_action": st.sampled_from(["open", "ticket", "pay", "attendant"])},
)
_BILLS = st.fixed_dictionaries(
    {
        "bill_no": st.from_regex(r"ST[0-9]{1,6}", fullmatch=True),
        "vehicle_type": st.sampled_from(["car", "motorcycle"]),
        "plate": _PLATES,
        "segment": st.just(SEGMENT),
        "started_at": st.just("2026-11-26T08:00:00+08:00"),
        "ended_at": st.just("2026-11-26T09:10:00+08:00"),
        "issued_at": st.just("2026-11-26T09:15:00+08:00"),
    }
)
_PLAUSIBLE = {
    "POST /v1/bindings": _BINDS,
    "POST /v1/lots/{lot_id}/events": _EVENTS,
    "POST /v1/roadside/bills": _BILLS,
}


@schema.hook
def before_generate_body(context: HookContext, strategy: st.SearchStrategy[Any]) -> Any:
    label = context.operation.label if context.operation is not None else ""
    if label in _PLAUSIBLE:
        return st.one_of(strategy, _PLAUSIBLE[label])
    return strategy


@schema.hook
def before_generate_path_parameters(context: HookContext, strategy: st.SearchStrategy[Any]) -> Any:
    path = context.operation.path if context.operation is not None else ""
    if "{lot_id}" in path:  # the lot whose key is used, most of the time
        return st.one_of(strategy, strategy.map(lambda p: {**(p or {}), "lot_id": LOT}))
    return strategy


# ---------------------------------------------------------------------------------------------
# The live server, with a world that has something in it


@dataclass(frozen=True)
class Snapshot:
    """Every row of the seeded world, put back before each scenario: hypothesis replays a
    scenario to shrink it, and the replay must meet the same database as the first run."""

    db: Db
    rows: dict[str, list[dict[str, Any]]]

    @classmethod
    def take(cls, db: Db) -> Snapshot:
        import_all_models()
        with db.tx() as s:
            rows = {
                t.name: [dict(r) for r in s.execute(select(t)).mappings()]
                for t in Base.metadata.sorted_tables
            }
        return cls(db, rows)

    def restore(self) -> None:
        tables = Base.metadata.sorted_tables
        with self.db.tx() as s:
            for table in reversed(tables):
                s.execute(table.delete())
            for table in tables:
                if self.rows[table.name]:
                    s.execute(table.insert(), self.rows[table.name])


@dataclass(frozen=True)
class Target:
    base_url: str
    keys: dict[str, str]  # "agent", "lot", "warden" -> Authorization header value
    snapshot: Snapshot

    def headers_for(self, path: str) -> dict[str, str]:
        if path.startswith(("/v1/lots/", "/v1/sessions/")):
            caller = "lot"
        elif path.startswith("/v1/roadside/"):
            caller = "warden"
        else:
            caller = "agent"
        return {"Authorization": f"Bearer {self.keys[caller]}"}


def _seed(db: Db) -> dict[str, str]:
    world = build_gate_world(db)
    with db.tx() as s:
        for plate in ("XYZ-5678", "KLM-0001"):
            registry.bind(
                s,
                db.clock,
                ADMIN,
                agent_id="cmj" if plate == "XYZ-5678" else "pi",
                scope_id="instant",
                vehicle_type="car",
                plate=plate,
            )
        webhooks.set_endpoint(s, db.clock, ADMIN, "cmj", "http://127.0.0.1:9/hook")
        warden = roadside.issue_warden_key(s, db.clock, ADMIN, WARDEN)
        roadside.add_segment(
            s,
            db.clock.now(),
            ADMIN,
            segment_id=SEGMENT,
            scope_id="tpe-roadside",
            name="忠孝東路四段",
            payex="計時：30元/時，全程以半小時計。",
        )
    return {"agent": world.agent_keys["cmj"], "lot": world.lot_keys[LOT], "warden": warden}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    with module_database(request, tmp_path_factory, "stateful") as db:
        keys = _seed(db)
        snapshot = Snapshot.take(db)
        with serve(create_app(db.url, clock=db.clock)) as server:
            yield Target(server.base_url, keys, snapshot)


# ---------------------------------------------------------------------------------------------
# The document's links, and the scenarios that follow them


def test_the_document_links_the_resources_it_hands_out() -> None:
    links = {
        (path, method, name)
        for path, item in schema.raw_schema["paths"].items()
        for method, operation in item.items()
        for response in operation.get("responses", {}).values()
        for name in response.get("links", {})
    }
    assert ("/v1/bindings", "post", "GetBinding") in links
    assert ("/v1/bindings", "post", "Unbind") in links
    assert ("/v1/lots/{lot_id}/events", "post", "CloseSession") in links
    assert ("/v1/charges", "get", "SettleFirstCharge") in links


def test_scenarios_over_the_whole_api_answer_as_documented(target: Target) -> None:
    steps: list[tuple[str, int]] = []

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            target.snapshot.restore()

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": target.base_url, "headers": target.headers_for(case.path)}

        def validate_response(self, response: Response, case: Case, **_: Any) -> None:
            steps.append((case.operation.label, response.status_code))
            validate(case, response, target.headers_for(case.path))

    Scenarios.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The scenarios did chain: some bind succeeded and a linked call used its id.
    labels = {label for label, status in steps if status < 300}
    assert "POST /v1/bindings" in labels
    assert labels & {"GET /v1/bindings/{binding_id}", "DELETE /v1/bindings/{binding_id}"}
