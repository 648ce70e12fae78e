"""Hostile requests against the real server (SQLite and PostgreSQL): each gets a clear 4xx,
and none of them changes the database.

Oversized bodies (declared and streamed), deeply nested JSON, bodies that are not UTF-8, NUL
characters, numbers too large for any field, CR/LF smuggled into headers, and path traversal
against the portal's static files. Requests httpx refuses to send (bare CR or LF in a header, a
body that never ends) go over a raw socket.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from platebind.api import idempotency, middleware
from platebind.api.app import create_app
from platebind.api.limits import DEFAULT_BODY_LIMIT, MIB, RECONCILE_BODY_LIMIT
from platebind.db import Base
from platebind.models import import_all_models
from platebind.portal.app import STATIC_DIR
from tests.api.conftest import LiveServer, serve
from tests.conftest import Db
from tests.parking.gate_world import LOT, build_gate_world

PROBLEM = "application/problem+json"
BIND = {"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-1234"}
SOCKET_TIMEOUT = 10.0


@dataclass(frozen=True)
class Target:
    server: LiveServer
    db: Db
    agent: dict[str, str]  # Authorization header of agent cmj
    lot: dict[str, str]  # of lot TPE9001

    def client(self) -> httpx.Client:
        return self.server.client()


@pytest.fixture
def target(db: Db, live_server: LiveServer) -> Target:
    world = build_gate_world(db)
    return Target(
        live_server,
        db,
        {"Authorization": f"Bearer {world.agent_keys['cmj']}"},
        {"Authorization": f"Bearer {world.lot_keys[LOT]}"},
    )


@pytest.fixture(scope="module")
def bare_server() -> Iterator[LiveServer]:
    """The app on an empty in-memory database, for routes that never touch one (static
    files, /healthz): one server for the module, not one per dialect and test."""
    with serve(create_app("sqlite://")) as server:
        yield server


def row_counts(db: Db) -> dict[str, int]:
    """Rows per table: what a refused request must leave as it found it."""
    import_all_models()
    with db.tx() as s:
        return {
            table.name: s.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def unchanged(target: Target) -> Iterator[None]:
    """The test's requests are all refused: the database has the same rows afterwards."""
    before = row_counts(target.db)
    yield
    assert row_counts(target.db) == before


# ---------------------------------------------------------------------------------------------
# A raw HTTP/1.1 exchange


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)

    def json(self) -> dict[str, object]:
        decoded: dict[str, object] = json.loads(self.body)
        return decoded


def _read_response(sock: socket.socket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed the connection after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines)
    ]
    length = int(next((v for k, v in headers if k == "content-length"), "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(int(status_line.split(" ")[1]), headers, body[:length])


def raw_exchange(base_url: str, head: bytes, body_parts: Iterable[bytes] = ()) -> RawResponse:
    """Send ``head`` (request line and headers, unchecked) and ``body_parts``; the answer."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
        return _read_response(sock)


def request_head(method: str, path: str, headers: dict[str, str], extra: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: platebind.test",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return "\r\n".join(lines).encode() + b"\r\n" + extra + b"\r\n"


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of chunked transfer coding, without the final empty chunk: the server
    must decide on what it has, not wait for the end."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield f"{n:x}\r\n".encode() + b" " * n + b"\r\n"
        sent += n


def assert_too_large(answer: RawResponse, limit: int) -> None:
    assert answer.status == 413
    assert answer.header("content-type") == PROBLEM
    assert answer.header("connection") == "close"
    problem = answer.json()
    assert problem["code"] == "payload_too_large"
    assert f"({limit // MIB} MiB)" in str(problem["detail"])


# ---------------------------------------------------------------------------------------------
# Oversized bodies


@dataclass(frozen=True)
class BodyRoute:
    method: str
    path: str
    caller: str  # "agent", "lot" or "none"
    content_type: str = "application/json"


BODY_ROUTES = [
    BodyRoute("POST", "/v1/bindings", "agent"),
    BodyRoute("PUT", "/v1/webhook-endpoint", "agent"),
    BodyRoute("POST", "/v1/charges/00000000-0000-0000-0000-000000000000/settle", "agent"),
    BodyRoute("POST", f"/v1/lots/{LOT}/events", "lot"),
    BodyRoute("POST", "/v1/roadside/bills", "none"),
    BodyRoute("DELETE", "/v1/bindings/00000000-0000-0000-0000-000000000000", "agent"),
]


def _auth(target: Target, caller: str) -> dict[str, str]:
    return {"agent": target.agent, "lot": target.lot}.get(caller, {})


@pytest.mark.usefixtures("unchanged")
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    target: Target,
) -> None:
    for route in BODY_ROUTES:
        headers = {
            **_auth(target, route.caller),
            "Content-Type": route.content_type,
            "Content-Length": str(DEFAULT_BODY_LIMIT + 1),
        }
        # No body follows: an answer at all proves the server did not wait to read it.
        head = request_head(route.method, route.path, headers)
        answer = raw_exchange(target.server.base_url, head)
        assert_too_large(answer, DEFAULT_BODY_LIMIT)
        assert answer.header("x-request-id")


@pytest.mark.usefixtures("unchanged")
def test_a_streamed_body_over_the_limit_is_refused_as_it_passes_the_limit(
    target: Target,
) -> None:
    # DELETE takes no body: it answers without reading one, so there is nothing to count.
    for route in [r for r in BODY_ROUTES if r.method != "DELETE"]:
        headers = {
            **_auth(target, route.caller),
            "Content-Type": route.content_type,
            "Transfer-Encoding": "chunked",
        }
        head = request_head(route.method, route.path, headers)
        answer = raw_exchange(target.server.base_url, head, chunks(DEFAULT_BODY_LIMIT + 1))
        assert_too_large(answer, DEFAULT_BODY_LIMIT)


@pytest.mark.usefixtures("unchanged")
def test_a_body_of_exactly_the_limit_is_read(target: Target) -> None:
    body = json.dumps(BIND).encode()
    padded = body[:-1] + b" " * (DEFAULT_BODY_LIMIT - len(body)) + b"}"
    assert len(padded) == DEFAULT_BODY_LIMIT
    # An unknown scope: the body was read and validated, and the refusal writes nothing.
    padded = padded.replace(b"tpe-lots", b"no-such")
    headers = {**target.agent, "Content-Type": "application/json"}
    with target.client() as client:
        answer = client.post("/v1/bindings", content=padded, headers=headers)
    assert answer.status_code == 404
    assert answer.json()["code"] == "scope_not_found"


def test_reconcile_takes_a_larger_upload_up_to_its_own_limit(target: Target) -> None:
    # 2 MiB of blank lines after the header: over the default limit, under reconcile's.
    upload = b"charge_id,kind,amount\r\n" + b"\r\n" * MIB
    headers = {**target.agent, "Content-Type": "text/csv"}
    with target.client() as client:
        answer = client.post("/v1/statements/2026-11-25/reconcile", content=upload, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["theirs"] == 0
    head = request_head(
        "POST",
        "/v1/statements/2026-11-25/reconcile",
        {**headers, "Content-Length": str(RECONCILE_BODY_LIMIT + 1)},
    )
    assert_too_large(raw_exchange(target.server.base_url, head), RECONCILE_BODY_LIMIT)


@pytest.mark.parametrize("streamed", [False, True], ids=["declared", "streamed"])
@pytest.mark.usefixtures("unchanged")
def test_an_oversized_portal_form_gets_a_page_not_a_problem(target: Target, streamed: bool) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    if streamed:
        head = request_head("POST", "/portal/login", {**form, "Transfer-Encoding": "chunked"})
        answer = raw_exchange(target.server.base_url, head, chunks(DEFAULT_BODY_LIMIT + 1))
    else:
        length = {"Content-Length": str(DEFAULT_BODY_LIMIT + 1)}
        answer = raw_exchange(
            target.server.base_url, request_head("POST", "/portal/login", {**form, **length})
        )
    assert answer.status == 413
    assert (answer.header("content-type") or "").startswith("text/html")
    assert "too large" in answer.body.decode()
    # The portal's own headers still apply to its refusals.
    assert answer.header("x-frame-options") == "DENY"
    assert answer.header("cache-control") == "no-store"


# ---------------------------------------------------------------------------------------------
# Bodies that do not decode


def _post_json(target: Target, path: str, content: bytes, auth: dict[str, str]) -> httpx.Response:
    with target.client() as client:
        return client.post(
            path, content=content, headers={**auth, "Content-Type": "application/json"}
        )


def assert_unreadable(answer: httpx.Response, reason: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["code"] == "validation_error"
    assert reason in problem["detail"]


@pytest.mark.parametrize("depth", [100_000, 5_000])
@pytest.mark.usefixtures("unchanged")
def test_deeply_nested_json_is_a_validation_error(target: Target, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    assert_unreadable(_post_json(target, "/v1/bindings", nested, target.agent), "nested too deeply")
    as_field = b'{"scope": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    events = f"/v1/lots/{LOT}/events"
    assert_unreadable(_post_json(target, events, as_field, target.lot), "nested too deeply")


@pytest.mark.usefixtures("unchanged")
def test_json_that_is_not_utf8_is_a_validation_error_naming_the_byte(target: Target) -> None:
    body = b'{"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC-\xff234"}'
    offset = body.index(b"\xff")
    answer = _post_json(target, "/v1/bindings", body, target.agent)
    assert_unreadable(answer, f"not UTF-8 text (invalid byte at offset {offset})")


@pytest.mark.usefixtures("unchanged")
def test_nul_characters_are_refused_on_both_databases(target: Target) -> None:
    raw_nul = b'{"scope": "tpe-lots", "vehicle_type": "car", "plate": "ABC\x00-1234"}'
    answer = _post_json(target, "/v1/bindings", raw_nul, target.agent)
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"
    for field in ("scope", "plate"):
        escaped = json.dumps({**BIND, field: "tpe\u0000lots"}).encode()
        answer = _post_json(target, "/v1/bindings", escaped, target.agent)
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"] == PROBLEM
    with target.client() as client:
        answer = client.put(
            "/v1/webhook-endpoint", json={"url": "https://a.example/\u0000"}, headers=target.agent
        )
    assert answer.status_code == 422


@pytest.mark.usefixtures("unchanged")
def test_numbers_too_large_for_any_field_are_refused(target: Target) -> None:
    too_many_digits = b'{"outcome": "paid", "reference": "r", "amount": ' + b"9" * 5000 + b"}"
    settle = "/v1/charges/00000000-0000-0000-0000-000000000000/settle"
    assert_unreadable(_post_json(target, settle, too_many_digits, target.agent), "too many digits")
    event = {
        "event_id": "e-huge",
        "gate": "exit",
        "plate": "ABC-1234",
        "vehicle_type": "car",
        "at": "2026-11-26T10:00:00+08:00",
    }
    for confidence in (b"1e999", b"-1e999", str(10**300).encode()):
        body = json.dumps(event).encode()[:-1] + b', "confidence": ' + confidence + b"}"
        answer = _post_json(target, f"/v1/lots/{LOT}/events", body, target.lot)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_error"
    upload = f"charge_id,kind,amount\n{uuid.uuid4()},paid,{2**64}\n".encode()
    with target.client() as client:
        headers = {**target.agent, "Content-Type": "text/csv"}
        answer = client.post("/v1/statements/2026-11-25/reconcile", content=upload, headers=headers)
        assert answer.status_code == 422, answer.text  # was a 500: the report held 2**64
        assert answer.json()["code"] == "statement_csv_invalid"
        for query in ({"limit": str(10**30)}, {"after": str(2**64)}):
            path = "/v1/bindings" if "limit" in query else "/v1/scopes/tpe-lots/changes"
            answer = client.get(path, params=query, headers=target.agent)
            assert answer.status_code == 422, answer.text


# Every text field of every JSON body, with a NUL or a lone surrogate (JSON escapes both). A
# transfer code is left out: a wrong one is counted (a row) against guessing, by design; the
# schema test sends it a NUL.
TEXT_FIELDS: list[tuple[str, str, str, Mapping[str, object]]] = [
    ("POST", "/v1/bindings", "agent", BIND),
    ("PUT", "/v1/webhook-endpoint", "agent", {"url": "https://cmj.example/hook"}),
    (
        "POST",
        "/v1/charges/00000000-0000-0000-0000-000000000000/settle",
        "agent",
        {"outcome": "declined", "reference": "r-1", "reason": "no funds"},
    ),
    (
        "POST",
        f"/v1/lots/{LOT}/events",
        "lot",
        {
            "event_id": "e-text",
            "gate": "entry",
            "plate": "ABC-1234",
            "vehicle_type": "car",
            "at": "2026-11-26T10:00:00+08:00",
            "confidence": 0.9,
            "image_ref": "img-1",
        },
    ),
]


@pytest.mark.usefixtures("unchanged")
def test_nul_or_a_lone_surrogate_in_any_text_field_is_a_4xx(target: Target) -> None:
    with target.client() as client:
        for method, path, caller, body in TEXT_FIELDS:
            for field, value in body.items():
                if not isinstance(value, str):
                    continue
                for bad in ("\\u0000", "\\ud800"):  # JSON escapes, not the characters
                    spliced = {**body, field: "x"}
                    content = json.dumps(spliced).replace('"x"', f'"{value[:2]}{bad}"', 1)
                    headers = {**_auth(target, caller), "Content-Type": "application/json"}
                    answer = client.request(method, path, content=content, headers=headers)
                    assert 400 <= answer.status_code < 500, (path, field, bad, answer.text)
                    assert answer.headers["content-type"] == PROBLEM


# ---------------------------------------------------------------------------------------------
# Header injection


INJECTED = [
    b"abc\rInjected: yes",
    b"abc\nInjected: yes",
    b"abc\r\n Injected: yes",  # obsolete line folding
    b"abc\x00Injected: yes",
]


@pytest.mark.usefixtures("unchanged")
def test_cr_lf_and_nul_in_a_header_are_refused_and_never_reflected(target: Target) -> None:
    auth = target.agent["Authorization"].encode()
    body = json.dumps(BIND).encode()
    for header in (b"X-Request-ID", b"Idempotency-Key"):
        for value in INJECTED:
            head = (
                b"POST /v1/bindings HTTP/1.1\r\nHost: platebind.test\r\n"
                b"Authorization: " + auth + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                + header + b": " + value + b"\r\n\r\n"
            )  # fmt: skip
            answer = raw_exchange(target.server.base_url, head, [body])
            assert 400 <= answer.status < 500, (header, value)
            assert all(name != "injected" for name, _ in answer.headers)
            assert b"Injected" not in answer.body


@pytest.mark.parametrize(
    "request_id",
    ["a b", "x" * 81, "\u00e9t\u00e9", "<script>", "id;drop"],
    ids=["space", "too-long", "non-ascii", "markup", "semicolon"],
)
def test_an_odd_request_id_is_replaced_not_echoed(bare_server: LiveServer, request_id: str) -> None:
    head = request_head("GET", "/healthz", {"X-Request-ID": request_id})
    answer = raw_exchange(bare_server.base_url, head)
    assert answer.status == 200
    echoed = answer.header("x-request-id")
    assert echoed is not None
    assert echoed != request_id
    assert len(echoed) == 32
    assert all(c in "0123456789abcdef" for c in echoed)


@pytest.mark.usefixtures("unchanged")
def test_an_odd_idempotency_key_is_refused_and_nothing_is_bound(target: Target) -> None:
    body = json.dumps(BIND).encode()
    headers = {**target.agent, "Content-Type": "application/json", "Content-Length": str(len(body))}
    for key in ("a b", "k" * 256, "\u00e9", "tab\tkey"):
        head = request_head("POST", "/v1/bindings", {**headers, "Idempotency-Key": key})
        answer = raw_exchange(target.server.base_url, head, [body])
        assert answer.status == 422, key
        assert answer.json()["code"] == "invalid_input"


# ---------------------------------------------------------------------------------------------
# Path traversal against the portal's static files

TRAVERSALS = [
    "/portal/static/../app.py",
    "/portal/static/../../platebind/__init__.py",
    "/portal/static/%2e%2e/app.py",
    "/portal/static/%2E%2E%2Fapp.py",
    "/portal/static/..%2fapp.py",
    "/portal/static/..%5capp.py",
    "/portal/static/..\\app.py",
    "/portal/static/%252e%252e/app.py",
    "/portal/static/%c0%ae%c0%ae/app.py",
    "/portal/static//etc/passwd",
    "/portal/static/%2fetc%2fpasswd",
    "/portal/static/%2Fetc/passwd",
    "/portal/static/..",
    "/portal/static/.",
    "/portal/static/",
    "/portal/static/portal.css%00.py",
    "/portal/static/portal.css/..",
    "/portal/static/" + "a" * 5000,
    "/portal/static/" + "../" * 40 + "etc/passwd",
]


@pytest.mark.parametrize("path", TRAVERSALS, ids=range(len(TRAVERSALS)))
def test_path_traversal_in_static_files_is_404(bare_server: LiveServer, path: str) -> None:
    head = request_head("GET", path, {"Connection": "close"})
    answer = raw_exchange(bare_server.base_url, head)
    assert answer.status == 404, path
    assert answer.json()["code"] == "not_found"
    # Nothing of a file outside the folder: no Python source, no system file.
    assert b"import" not in answer.body
    assert b"root:" not in answer.body


def test_the_static_folder_still_serves_its_own_files(bare_server: LiveServer) -> None:
    with bare_server.client() as client:
        answer = client.get("/portal/static/portal.css")
    assert answer.status_code == 200
    assert answer.content == Path(STATIC_DIR, "portal.css").read_bytes()


def test_a_trailing_newline_makes_a_request_id_or_idempotency_key_invalid() -> None:
    """uvicorn refuses LF in a header today; the checks must not rely on it (``$`` in a
    regular expression also matches before a final newline)."""
    assert middleware._incoming_id({"headers": [(b"x-request-id", b"req-1\n")]}) is None
    assert middleware._incoming_id({"headers": [(b"x-request-id", b"req-1")]}) == "req-1"
    assert idempotency._KEY.fullmatch("key-1\n") is None
    assert idempotency._KEY.fullmatch("key-1") is not None
