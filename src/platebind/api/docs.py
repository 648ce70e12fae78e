"""OpenAPI documentation of problem responses, shared by every router."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platebind.api.errors import PROBLEM_MEDIA_TYPE


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
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.startswith(("4", "5")) and PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
    return document
