"""Every error the API answers is an RFC 9457 problem (``application/problem+json``) with a
stable ``code``: domain refusals, request validation, HTTP errors such as 404, and crashes
(without internals)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platebind.errors import PROBLEM_BASE, DomainError

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Where a validation error was found; left out of the field name ("body.plate" -> "plate").
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
# Codes for HTTP errors raised by the framework itself (unknown path, wrong method, ...).
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}

log = logging.getLogger(__name__)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """A problem response in the same shape as ``DomainError.as_problem()``."""
    body = {
        "type": PROBLEM_BASE + code,
        "code": code,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        **extra,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def domain_error_handler(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, DomainError)
    headers = None
    retry_after = exc.extra.get("retry_after")
    if retry_after is not None:
        headers = {"Retry-After": str(int(retry_after))}
    return ProblemResponse(exc.as_problem(), status_code=exc.status, headers=headers)


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """One entry per offending field: where it is, its dotted name, and what is wrong."""
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc and loc[0] in _LOCATIONS else None
        name = loc[1:] if location is not None else loc
        out.append(
            {
                "in": location,
                "field": ".".join(name) or location or "request",
                "message": error.get("msg", "invalid value"),
                "type": error.get("type", "value_error"),
            }
        )
    return out


async def validation_error_handler(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem(
        422,
        "validation_error",
        f"the request is not valid: {fields}",
        title="Invalid request",
        errors=errors,
    )


async def http_error_handler(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # The framework's only 400 is a body it could not decode (e.g. not UTF-8): that is
        # invalid input like malformed JSON, and answered the same way.
        reason = _unreadable_body(exc.__cause__) or str(exc.detail)
        return problem(
            422,
            "validation_error",
            f"the request body could not be read: {reason}",
            title="Invalid request",
            errors=[{"in": "body", "field": "body", "message": reason, "type": "decode"}],
        )
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404 and exc.detail == _phrase(404):
        detail = f"no resource at {request.url.path}"
    else:
        detail = str(exc.detail)
    return problem(exc.status_code, code, detail, headers=exc.headers)


def _unreadable_body(cause: BaseException | None) -> str | None:
    """Why the framework could not decode a body, said plainly (its own 400 says only "There
    was an error parsing the body")."""
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not UTF-8 text (invalid byte at offset {cause.start})"
    if isinstance(cause, RecursionError):
        return "the JSON is nested too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "a number in the JSON has too many digits"
    return None


def _internal_error() -> ProblemResponse:
    return problem(
        500,
        "internal_error",
        "an unexpected error occurred; it has been logged",
        title="Internal server error",
    )


async def unexpected_error_handler(request: Request, exc: Exception) -> ProblemResponse:
    # Backstop for errors outside the routes (in middleware); see CrashAsProblem.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _internal_error()


class CrashAsProblem:
    """Answer an unexpected exception with a 500 problem and keep the connection open.

    Starlette's own handler for ``Exception`` re-raises after answering, so the server logs
    the error a second time and drops the keep-alive connection. The traceback is logged
    here once; the client learns nothing about the internals.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_and_note_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_start)
        except Exception:
            if started:
                raise  # too late for a problem document; the server closes the connection
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await _internal_error()(scope, receive, send)


async def unstorable_value_handler(_request: Request, exc: Exception) -> ProblemResponse:
    """Backstop: a value the database refuses to store or compare (a NUL character in text
    on PostgreSQL, a number beyond 64 bits) is the client's input, not a server error."""
    log.info("unstorable input: %s", type(exc).__name__)
    return problem(
        422,
        "invalid_input",
        "a value is out of range or contains characters that cannot be stored",
        title="Invalid input",
    )


# How long a client should wait before retrying while the database is away.
DATABASE_RETRY_AFTER_SECONDS = 5


async def database_unavailable_handler(request: Request, exc: Exception) -> ProblemResponse:
    """The database is unreachable, restarting, or its pool is exhausted: a 503 with
    ``Retry-After`` the client can act on, not a 500 (and no connection details)."""
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return problem(
        503,
        "database_unavailable",
        "the database is not reachable; retry shortly",
        title="The database is unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(OperationalError, database_unavailable_handler)
    app.add_exception_handler(PoolTimeout, database_unavailable_handler)
    app.add_exception_handler(DataError, unstorable_value_handler)
    app.add_exception_handler(OverflowError, unstorable_value_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
    app.add_middleware(CrashAsProblem)
