"""OpenAPI documentation of problem responses, shared by every router."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platebind.api.errors import PROBLEM_MEDIA_TYPE
from platebind.api.limits import DEFAULT_BODY_LIMIT, MIB, RECONCILE_BODY_LIMIT


class Problem(BaseModel):
    """An RFC 9457 problem. ``code`` is stable; other fields may be added per code."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://platebind.example/problems/plate_bound_elsewhere"])
    code: str = Field(examples=["plate_bound_elsewhere"])
    title: str
    status: int
    detail: str


_DESCRIPTIONS = {
    401: "`unauthenticated`: no `Authorization: Bearer <key>`, or an unknown or revoked key.",
    403: "`forbidden` (the agent is suspended or offboarded, or the key is not an agent's), "
    "`agent_suspended`, `agent_not_accredited`.",
    404: "`binding_not_found`, `scope_not_found`, `not_found`: no such resource for this key "
    "(another agent's resource is answered the same way).",
    409: "`plate_bound_elsewhere` (with `transfer_possible` and `portal_url`).",
    422: "`validation_error` (with `errors` naming each field), `invalid_plate`, "
    "`transfer_code_invalid`, `transfer_code_expired`, `idempotency_key_reused`, "
    "`invalid_input`.",
    429: "`transfer_code_rate_limited`, `rate_limited`: retry after `Retry-After` seconds.",
    503: "`database_unavailable`: retry after `Retry-After` seconds.",
}


def problem_response(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    """A ``responses=`` entry for one problem answer with a route's own description (only as
    ``application/problem+json``: see ``finish_openapi``)."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the common problem answers a route can give."""
    entries: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entries.update(problem_response(status, _DESCRIPTIONS[status]))
    return entries


SECURITY_SCHEME = "apiKey"


def finish_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """Complete the generated document: the Problem schema every error refers to, the bearer
    key scheme on every ``/v1`` operation, and problems documented only as problem+json."""
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "The API key issued by the authority: `Authorization: Bearer pbk_…`.",
        }
    }
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if path.startswith("/v1/"):
                operation["security"] = [{SECURITY_SCHEME: []}]
            if "requestBody" in operation:
                operation["responses"]["413"] = problem_response(413, _TOO_LARGE)[413]
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.startswith(("4", "5")) and PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
    _add_links(document)
    return document


_TOO_LARGE = (
    f"`payload_too_large`: the body is larger than the route accepts "
    f"({DEFAULT_BODY_LIMIT // MIB} MiB; {RECONCILE_BODY_LIMIT // MIB} MiB for a reconciliation)."
)

# OpenAPI links: where an answer's ids lead (integrators read them; schemathesis's stateful
# tests follow them to chain calls). (source path, method, statuses) -> link name -> (target
# path, method, parameters as runtime expressions).
_BINDING_ID = {"binding_id": "$response.body#/id"}
_LinkTable = dict[tuple[str, str, tuple[str, ...]], dict[str, tuple[str, str, dict[str, str]]]]
_LINKS: _LinkTable = {
    ("/v1/bindings", "post", ("201", "200")): {
        "GetBinding": ("/v1/bindings/{binding_id}", "get", _BINDING_ID),
        "Unbind": ("/v1/bindings/{binding_id}", "delete", _BINDING_ID),
        "ScopeChanges": (
            "/v1/scopes/{scope}/changes", "get", {"scope": "$response.body#/scope"}
        ),
    },
    ("/v1/bindings/{binding_id}", "delete", ("202",)): {
        "GetBinding": ("/v1/bindings/{binding_id}", "get", _BINDING_ID),
    },
    ("/v1/bindings", "get", ("200",)): {
        "GetFirstBinding": (
            "/v1/bindings/{binding_id}", "get", {"binding_id": "$response.body#/items/0/id"}
        ),
    },
    ("/v1/scopes/{scope}/changes", "get", ("200",)): {
        "Snapshot": ("/v1/scopes/{scope}/snapshot", "get", {"scope": "$request.path.scope"}),
    },
    ("/v1/webhooks/deliveries", "get", ("200",)): {
        "RedeliverFirst": (
            "/v1/webhooks/deliveries/{delivery_id}/redeliver",
            "post",
            {"delivery_id": "$response.body#/items/0/id"},
        ),
    },
    ("/v1/charges", "get", ("200",)): {
        "GetFirstCharge": (
            "/v1/charges/{charge_id}", "get", {"charge_id": "$response.body#/items/0/id"}
        ),
        "SettleFirstCharge": (
            "/v1/charges/{charge_id}/settle", "post", {"charge_id": "$response.body#/items/0/id"}
        ),
    },
    ("/v1/charges/{charge_id}/settle", "post", ("200",)): {
        "GetCharge": ("/v1/charges/{charge_id}", "get", {"charge_id": "$response.body#/id"}),
    },
    ("/v1/statements/{date}", "get", ("200",)): {
        "Reconcile": ("/v1/statements/{date}/reconcile", "post", {"date": "$request.path.date"}),
    },
    ("/v1/lots/{lot_id}/events", "post", ("200",)): {
        "GetSession": (
            "/v1/sessions/{session_id}", "get", {"session_id": "$response.body#/session_id"}
        ),
        "CloseSession": (
            "/v1/lots/{lot_id}/sessions/{session_id}/close",
            "post",
            {"lot_id": "$request.path.lot_id", "session_id": "$response.body#/session_id"},
        ),
    },
}  # fmt: skip


def _operation_ref(path: str, method: str) -> str:
    # A JSON pointer into the document: "~" and "/" of the path are escaped (RFC 6901).
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _add_links(document: dict[str, Any]) -> None:
    paths = document.get("paths", {})
    for (path, method, statuses), links in _LINKS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue  # a router not included in this app
        for status in statuses:
            response = operation["responses"].get(status)
            if response is None:
                continue
            response["links"] = {
                name: {"operationRef": _operation_ref(target, verb), "parameters": dict(params)}
                for name, (target, verb, params) in links.items()
                if target in paths and verb in paths[target]
            }
