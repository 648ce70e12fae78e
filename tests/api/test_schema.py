"""Schemathesis against the real server: every operation of ``/openapi.json``, fuzzed.

The document is loaded from a live server (``/openapi.json`` needs no database), and every
generated request goes over a real socket to a live server on a migrated database (SQLite and
PostgreSQL), authenticated with a real agent key. Checks: no 5xx for any input, and every answer
conforms to the document (status code, content type, body schema).

Bounded and deterministic for the normal suite: few examples per operation, ``derandomize``.

Known product bugs are excused narrowly (``KNOWN_BUGS``: one check, for the matching answers
only), and each one is pinned by a strict ``xfail`` test below that starts failing when the bug
is fixed, so the excuse is removed with it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case as GenericCase
from schemathesis import CheckFunction, HookContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from platebind.api.app import create_app
from tests.api.conftest import serve
from tests.conftest import module_database
from tests.registry.world import build_world

Case = GenericCase[Any]
PROBLEM = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation; raise it for a deeper (still deterministic) search, e.g.
# PLATEBIND_SCHEMA_EXAMPLES=500 pytest tests/api/test_schema.py
EXAMPLES = int(os.environ.get("PLATEBIND_SCHEMA_EXAMPLES", "25"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _load_served_schema() -> Any:
    """``/openapi.json`` exactly as a live server serves it (no database needed for that)."""
    with serve(create_app("sqlite://")) as server:
        return schemathesis.openapi.from_url(
            f"{server.base_url}/openapi.json", config=schemathesis.Config(), timeout=10
        )


schema = _load_served_schema()
DOCUMENT: dict[str, Any] = schema.raw_schema


# Random strings almost never name a scope or spell a plate, so half of the generated binds are
# plausible ones instead: real scopes (and one that is not), plates in the spellings agents send.
_PLATES = st.one_of(
    st.from_regex(r"[A-HJ-NP-Za-hj-np-z]{3}[- ]?[0-9]{4}", fullmatch=True),
    st.from_regex(r"[A-Za-z]{2,3}[- .]?[0-9]{3,4}|[0-9]{3,4}[- ]?[A-Za-z]{2,3}", fullmatch=True),
    st.text(min_size=1, max_size=32),
)
_PLAUSIBLE_BINDS = st.fixed_dictionaries(
    {
        "scope": st.sampled_from(["tpe-lots", "tpe-roadside", "instant", "nowhere"]),
        "vehicle_type": st.sampled_from(["car", "motorcycle", "heavy_motorcycle"]),
        "plate": _PLATES,
    },
    optional={"transfer_code": st.none() | st.text(max_size=32)},
)


@schema.hook
def before_generate_body(context: HookContext, strategy: st.SearchStrategy[Any]) -> Any:
    if context.operation is not None and context.operation.label == "POST /v1/bindings":
        return st.one_of(strategy, _PLAUSIBLE_BINDS)
    return strategy


# ---------------------------------------------------------------------------------------------
# Known product bugs, excused only where they show (see the pinning tests at the end)


def _problem_code(response: Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


@dataclass(frozen=True)
class KnownBug:
    what: str
    excuses: tuple[CheckFunction, ...]
    matches: Callable[[Case, Response], bool]


KNOWN_BUGS: tuple[KnownBug, ...] = ()


def validate(case: Case, response: Response, headers: dict[str, str]) -> None:
    excused = [check for bug in KNOWN_BUGS if bug.matches(case, response) for check in bug.excuses]
    case.validate_response(response, checks=CHECKS, excluded_checks=excused, headers=headers)


# ---------------------------------------------------------------------------------------------
# The live server, with a world that has something in it


@dataclass(frozen=True)
class Target:
    base_url: str
    headers: dict[str, str]
    dialect: str


def _seed(base_url: str, keys: dict[str, str]) -> None:
    """Bindings in every state the lists can show, and events (deliveries), through the API."""

    def client(agent: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {keys[agent]}"}
        return httpx.Client(base_url=base_url, headers=auth, timeout=10)

    def bind(agent: httpx.Client, scope: str, vehicle_type: str, plate: str) -> str:
        body = {"scope": scope, "vehicle_type": vehicle_type, "plate": plate}
        response = agent.post("/v1/bindings", json=body)
        assert response.status_code == 201, response.text
        binding_id: str = response.json()["id"]
        return binding_id

    with client("cmj") as cmj, client("pi") as pi:
        bind(cmj, "tpe-lots", "car", "ABC-1234")  # scheduled
        bind(cmj, "instant", "car", "XYZ-5678")  # active
        cancelled = bind(cmj, "tpe-lots", "motorcycle", "123-ABC")
        assert cmj.delete(f"/v1/bindings/{cancelled}").status_code == 202
        endpoint = cmj.put("/v1/webhook-endpoint", json={"url": "https://cmj.example/hook"})
        assert endpoint.status_code == 200, endpoint.text
        bind(pi, "tpe-lots", "car", "KLM-0001")  # another agent's: never shown to cmj


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """The app on a fresh migrated database, seeded, served once per dialect for this module.

    Module-scoped rather than the function-scoped ``db``/``live_server``: a server, world and
    seed per generated test would cost more than the fuzzing itself. Generated requests share
    the database, so later operations see what earlier ones wrote.
    """
    with module_database(request, tmp_path_factory, "schema") as db:
        keys = build_world(db).keys
        with serve(create_app(db.url, clock=db.clock)) as server:
            _seed(server.base_url, keys)
            auth = {"Authorization": f"Bearer {keys['cmj']}"}
            yield Target(server.base_url, auth, db.dialect)


# ---------------------------------------------------------------------------------------------
# Fuzzing: every operation, positive and negative inputs


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_as_documented(case: Case, target: Target) -> None:
    response = case.call(base_url=target.base_url, headers=target.headers)
    validate(case, response, target.headers)


def test_operations_on_existing_resources_answer_as_documented(target: Target) -> None:
    """Random ids only ever find nothing (404); these requests use ids the API handed out, so
    the success answers of the by-id operations are checked against the document too."""

    def call(path: str, method: str, **kwargs: Any) -> Response:
        case = schema[path][method].Case(**kwargs)
        response = case.call(base_url=target.base_url, headers=target.headers)
        validate(case, response, target.headers)
        return response

    bindings = call("/v1/bindings", "GET", query={"limit": 200}).json()["items"]
    assert len(bindings) >= 3
    for binding in bindings:
        by_id = {"binding_id": binding["id"]}
        assert call("/v1/bindings/{binding_id}", "GET", path_parameters=by_id).status_code == 200
    for binding in bindings:
        by_id = {"binding_id": binding["id"]}
        for _ in range(2):  # unbinding again answers the same end
            answer = call("/v1/bindings/{binding_id}", "DELETE", path_parameters=by_id)
            assert answer.status_code == 202
    deliveries = call("/v1/webhooks/deliveries", "GET", query={"limit": 200}).json()["items"]
    assert deliveries
    for delivery in deliveries[:5]:
        by_id = {"delivery_id": delivery["id"]}
        path = "/v1/webhooks/deliveries/{delivery_id}/redeliver"
        assert call(path, "POST", path_parameters=by_id).status_code == 202
    for scope in ("tpe-lots", "instant"):
        changes = call("/v1/scopes/{scope}/changes", "GET", path_parameters={"scope": scope})
        assert changes.json()["changes"]
        snapshot = call("/v1/scopes/{scope}/snapshot", "GET", path_parameters={"scope": scope})
        assert snapshot.status_code == 200
    assert call("/v1/webhook-endpoint", "GET").status_code == 200


# ---------------------------------------------------------------------------------------------
# Inputs random generation rarely reaches, through the same checks


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BIND = {"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"}
BIG = str(2**63)  # one past the largest 64-bit integer


@dataclass(frozen=True)
class Edge:
    label: str
    path: str
    method: str
    kwargs: dict[str, Any]
    bug: str | None = None
    dialects: tuple[str, ...] = ("sqlite", "postgresql")


EDGES = [
    Edge(
        "changes-after-beyond-int64",
        "/v1/scopes/{scope}/changes",
        "GET",
        {"path_parameters": {"scope": "tpe-lots"}, "query": {"after": BIG}},
    ),
    Edge(
        "bindings-cursor-with-naive-time",
        "/v1/bindings",
        "GET",
        {"query": {"cursor": _b64("2026-01-01T00:00:00|00000000-0000-0000-0000-000000000000")}},
    ),
    Edge(
        "bindings-cursor-time-out-of-range",
        "/v1/bindings",
        "GET",
        {
            "query": {
                "cursor": _b64("9999-12-31T23:59:59-12:00|00000000-0000-0000-0000-000000000000")
            }
        },
    ),
    Edge(
        "deliveries-cursor-beyond-int64",
        "/v1/webhooks/deliveries",
        "GET",
        {"query": {"cursor": _b64(f"d{BIG}")}},
    ),
    Edge(
        "redeliver-id-beyond-int64",
        "/v1/webhooks/deliveries/{delivery_id}/redeliver",
        "POST",
        {"path_parameters": {"delivery_id": f"evt_{BIG}"}},
    ),
    Edge(
        "redeliver-id-with-5000-digits",
        "/v1/webhooks/deliveries/{delivery_id}/redeliver",
        "POST",
        {"path_parameters": {"delivery_id": "evt_" + "9" * 5000}},
    ),
    Edge(
        "changes-scope-with-nul",
        "/v1/scopes/{scope}/changes",
        "GET",
        {"path_parameters": {"scope": "\x00"}},
        dialects=("postgresql",),
    ),
    Edge(
        "snapshot-scope-with-nul",
        "/v1/scopes/{scope}/snapshot",
        "GET",
        {"path_parameters": {"scope": "\x00"}},
        dialects=("postgresql",),
    ),
    Edge(
        "bindings-scope-filter-with-nul",
        "/v1/bindings",
        "GET",
        {"query": {"scope": "\x00"}},
        dialects=("postgresql",),
    ),
    Edge(
        "bindings-plate-filter-with-nul",
        "/v1/bindings",
        "GET",
        {"query": {"plate": "\x00"}},
        dialects=("postgresql",),
    ),
    Edge(
        "bind-scope-with-nul",
        "/v1/bindings",
        "POST",
        {"body": {**BIND, "scope": "\x00"}, "media_type": "application/json"},
        dialects=("postgresql",),
    ),
    Edge(
        "bind-transfer-code-with-nul",
        "/v1/bindings",
        "POST",
        # KLM-0001 is another agent's, so the code is checked (and refused)
        {
            "body": {**BIND, "plate": "KLM-0001", "transfer_code": "\x00"},
            "media_type": "application/json",
        },
    ),
    Edge(
        "bind-lone-surrogate",
        "/v1/bindings",
        "POST",
        {"body": {**BIND, "plate": "\ud800"}, "media_type": "application/json"},
    ),
    Edge(
        "bind-idempotency-key-too-long",
        "/v1/bindings",
        "POST",
        {"body": BIND, "media_type": "application/json", "headers": {"Idempotency-Key": "k" * 256}},
    ),
    Edge(
        "webhook-url-with-nul",
        "/v1/webhook-endpoint",
        "PUT",
        {"body": {"url": "https://a.example/\x00"}, "media_type": "application/json"},
    ),
]


class ServerErrorAnswer(AssertionError):
    """The server answered 5xx (what the known-bug edges are expected to do until fixed)."""


@pytest.mark.parametrize("edge", EDGES, ids=[e.label for e in EDGES])
def test_edge_inputs_answer_as_documented(
    request: pytest.FixtureRequest, edge: Edge, target: Target
) -> None:
    if edge.bug is not None and target.dialect in edge.dialects:
        marker = pytest.mark.xfail(strict=True, raises=ServerErrorAnswer, reason=edge.bug)
        request.applymarker(marker)
    case = schema[edge.path][edge.method].Case(**edge.kwargs)
    response = case.call(base_url=target.base_url, headers=target.headers)
    if response.status_code >= 500:
        raise ServerErrorAnswer(f"{case.operation.label} answered {response.status_code}")
    validate(case, response, target.headers)


# ---------------------------------------------------------------------------------------------
# The document itself


def _operations(prefix: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if path.startswith(prefix) and isinstance(operation, dict):
                yield method.upper(), path, operation


V1 = [pytest.param(op, id=f"{method} {path}") for method, path, op in _operations("/v1/")]
V1_WITH_INPUT = [
    pytest.param(op, id=f"{method} {path}")
    for method, path, op in _operations("/v1/")
    if op.get("parameters") or op.get("requestBody")
]


def _documents_problem(operation: dict[str, Any], status: str) -> bool:
    content = operation["responses"].get(status, {}).get("content", {})
    return content.get(PROBLEM, {}).get("schema", {}).get("$ref") == PROBLEM_REF


def test_the_document_covers_the_v1_api() -> None:
    labels = {f"{method} {path}" for method, path, _ in _operations("/v1/")}
    assert {"POST /v1/bindings", "GET /v1/bindings", "GET /v1/scopes/{scope}/changes"} <= labels
    problem = DOCUMENT["components"]["schemas"]["Problem"]
    assert {"type", "code", "title", "status", "detail"} <= set(problem["required"])


@pytest.mark.parametrize("operation", V1)
def test_v1_operations_document_401_as_a_problem(operation: dict[str, Any]) -> None:
    assert _documents_problem(operation, "401")


@pytest.mark.parametrize("operation", V1_WITH_INPUT)
def test_v1_operations_with_input_document_422_as_a_problem(operation: dict[str, Any]) -> None:
    # An operation without parameters or body cannot fail validation, so it need not list 422.
    assert _documents_problem(operation, "422")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    found: Any = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return _resolve(found)


def test_bind_request_has_a_valid_example() -> None:
    media = DOCUMENT["paths"]["/v1/bindings"]["post"]["requestBody"]["content"]["application/json"]
    body_schema = _resolve(media["schema"])
    examples = [
        *([media["example"]] if "example" in media else []),
        *(e.get("value") for e in media.get("examples", {}).values()),
        *([body_schema["example"]] if "example" in body_schema else []),
        *body_schema.get("examples", []),
    ]
    assert examples, "POST /v1/bindings documents no example"
    for example in examples:
        assert set(body_schema["required"]) <= set(example) <= set(body_schema["properties"])


# ---------------------------------------------------------------------------------------------
# Bugs found by this file, fixed; these keep them fixed


def test_metrics_documents_its_text_format() -> None:
    content = DOCUMENT["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert any(media.startswith("text/plain") for media in content)


def test_bind_documents_scope_not_found() -> None:
    assert _documents_problem(DOCUMENT["paths"]["/v1/bindings"]["post"], "404")


def test_a_body_that_is_not_utf8_gets_a_documented_answer(target: Target) -> None:
    headers = {**target.headers, "Content-Type": "application/json"}
    with httpx.Client(base_url=target.base_url, headers=headers, timeout=10) as client:
        answers = {
            f"{method} {path}": (
                client.request(method, path, content=b"x\x80").status_code,
                set(operation["responses"]),
            )
            for method, path, operation in _operations("/")
            if "requestBody" in operation and "{" not in path
        }
    assert answers
    undocumented = {
        op: status for op, (status, documented) in answers.items() if str(status) not in documented
    }
    assert not undocumented
