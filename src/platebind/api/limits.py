"""Request body limits: a body larger than its route allows is refused with 413.

Without a limit, one client can make a serve process buffer a body of any size (FastAPI reads
the whole body before validating it) and hold that memory for as long as it likes to send it.

- ``DEFAULT_BODY_LIMIT`` (1 MiB) for every route: JSON bodies (a binding, a gate event, a
  roadside bill, a settle) are a few hundred bytes, and portal forms less; 1 MiB is three
  orders of magnitude of headroom and still a small allocation.
- ``RECONCILE_BODY_LIMIT`` (16 MiB) for ``POST /v1/statements/{date}/reconcile``, which takes an
  agent's CSV of one Taipei day. The statement's own CSV is about 250 bytes a line, so 16 MiB
  holds some 67,000 lines — more than one agent settles in a Taipei day. Parsing that much
  takes about 1.2 s and 170 MB on the reference machine (measured), which is why the allowance
  is not larger: a bigger upload would need a streamed reader, not a bigger number.

A declared ``Content-Length`` over the limit is refused before the application runs (nothing
is read, the connection is closed); a body without one (``Transfer-Encoding: chunked``) is
counted as it streams in, and refused as soon as it passes the limit. API routes answer a
problem (``payload_too_large``); the portal answers a short page, like its other refusals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platebind.api.errors import problem

MIB = 1024 * 1024
DEFAULT_BODY_LIMIT = 1 * MIB
RECONCILE_BODY_LIMIT = 16 * MIB
PORTAL_PREFIX = "/portal"  # platebind.portal.web.PREFIX (not imported: api stays below portal)


@dataclass(frozen=True)
class Allowance:
    """A larger (or smaller) limit for the routes whose method and path match."""

    method: str
    path: re.Pattern[str]
    limit: int


ALLOWANCES: tuple[Allowance, ...] = (
    Allowance("POST", re.compile(r"/v1/statements/[^/]+/reconcile"), RECONCILE_BODY_LIMIT),
)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit; an HTTPException so that
    FastAPI's body reading passes it on instead of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


def _detail(limit: int) -> str:
    return f"the request body is larger than this route accepts ({_size(limit)})"


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit} bytes"


_PORTAL_PAGE = """<!doctype html>
<html lang="zh-Hant-TW"><head><meta charset="utf-8"><title>413</title></head>
<body><h1>送出的資料太大</h1><p>請縮短內容後再試一次（上限 {size}）。</p>
<p lang="en">The form you sent is too large (limit {size}); shorten it and try again.</p>
<p><a href="/portal/">platebind</a></p></body></html>
"""


def refusal(path: str, limit: int) -> Response:
    """The 413 answer: a problem for the API, a page for the portal. The connection is closed,
    since the rest of the body is never read."""
    headers = {"connection": "close"}
    if path == PORTAL_PREFIX or path.startswith(f"{PORTAL_PREFIX}/"):
        page = _PORTAL_PAGE.format(size=_size(limit))
        return HTMLResponse(page, status_code=413, headers=headers)
    return problem(
        413, "payload_too_large", _detail(limit), title="Content too large", headers=headers
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


class BodyLimit:
    """Pure ASGI middleware enforcing the body limits above (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        default: int = DEFAULT_BODY_LIMIT,
        allowances: Sequence[Allowance] = ALLOWANCES,
    ) -> None:
        self.app = app
        self.default = default
        self.allowances = tuple(allowances)

    def limit_for(self, method: str, path: str) -> int:
        for allowance in self.allowances:
            if allowance.method == method and allowance.path.fullmatch(path):
                return allowance.limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await refusal(scope["path"], limit)(scope, receive, send)
            return
        await _Streamed(self.app, limit)(scope, receive, send)


class _Streamed:
    """One request whose body is counted as the application reads it.

    Once the count passes the limit, ``receive`` raises ``BodyTooLarge``; whatever the
    application then answers (its handlers may turn the exception into a 400, a 422 or a
    problem of their own) is replaced by the one 413 answer, unless it had already started.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.exceeded = True
                    raise BodyTooLarge(self.limit)
            return message

        async def send_unless_refused(message: Message) -> None:
            if self.exceeded and not self.started:
                return  # the application's answer to the refusal; ours is sent below
            self.started = self.started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, send_unless_refused)
        except Exception:
            if not self.exceeded or self.started:
                raise
        if self.exceeded and not self.started:
            await refusal(scope["path"], self.limit)(scope, receive, send)
