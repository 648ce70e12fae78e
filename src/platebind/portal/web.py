"""The portal's request plumbing: the page context (unit of work, session, member, language),
rendering, CSRF, log-in guard and the security headers of every portal response."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platebind import ratelimit
from platebind.clock import Clock
from platebind.config import Settings
from platebind.db import transaction
from platebind.errors import DomainError
from platebind.portal import accounts, sessions
from platebind.portal.i18n import pick_locale
from platebind.portal.messages import message_for
from platebind.portal.models import Member, PortalSession
from platebind.portal.notifications import unread_count
from platebind.portal.templating import render
from platebind.ratelimit import Limit

PREFIX = "/portal"
LANGUAGE_COOKIE = "platebind_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# No inline script or style anywhere, so the policy needs no 'unsafe-inline'. Pico's icons are
# data: SVGs in its stylesheet.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    def __init__(self, locale: str) -> None:
        super().__init__(locale)
        self.locale = locale


@dataclass
class Page:
    """One portal request: its transaction, browser session, member and language."""

    request: Request
    db: Session
    clock: Clock
    now: datetime
    settings: Settings
    record: PortalSession
    member: Member | None
    locale: str
    new_token: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def csrf_token(self) -> str:
        return self.record.csrf_token

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        notices = unread_count(self.db, self.member) if self.member is not None else 0
        html = render(
            template,
            self.locale,
            page=self,
            member=self.member,
            csrf_token=self.csrf_token,
            unread_notices=notices,
            path=self.request.url.path,
            message=lambda code, **values: message_for(self.locale, code, **values),
            **context,
        )
        return self.finish(HTMLResponse(html, status_code=status))

    def message(self, code: str, **values: Any) -> str:
        return message_for(self.locale, code, **values)

    def refused(self, template: str, error: DomainError, **context: Any) -> Response:
        """``template`` again with the refusal's sentence, its status and any ``Retry-After``."""
        retry_after = error.extra.get("retry_after")
        if retry_after is not None:
            self.extra_headers["retry-after"] = str(int(retry_after))
        sentence = self.message(error.code, seconds=retry_after)
        return self.render(template, status=error.status, error=sentence, **context)

    def count(self, limit: Limit, subject: str) -> None:
        """Count one attempt against ``limit`` (``rate_limited`` beyond the budget).

        In the page's own transaction: a refusal is rendered, not raised, so the count is
        committed with the page (a second transaction would wait on SQLite's write lock).
        """
        ratelimit.consume(self.db, limit, subject, self.now)

    @property
    def client_address(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Response) -> Response:
        if self.new_token is not None:
            set_session_cookie(response, self.new_token, self.settings)
        for name, value in self.extra_headers.items():
            response.headers[name] = value
        return response


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        sessions.COOKIE_NAME,
        token,
        max_age=int(sessions.ABSOLUTE.total_seconds()),
        path=PREFIX,
        secure=settings.portal_secure_cookies,
        httponly=True,
        samesite="lax",
    )


def page(request: Request) -> Iterator[Page]:
    """The request's unit of work and browser session (an anonymous one is started if needed,
    so that the log-in form has a CSRF token)."""
    state = request.app.state
    with transaction(state.session_factory) as db:
        now = state.clock.now()
        record = sessions.find(db, request.cookies.get(sessions.COOKIE_NAME), now)
        new_token = None
        if record is None:
            started = sessions.start(db, now)
            record, new_token = started.record, started.token
        member = accounts.get_member(db, record.member_id) if record.member_id else None
        locale = pick_locale(
            member.locale if member else None, request.cookies.get(LANGUAGE_COOKIE)
        )
        yield Page(request, db, state.clock, now, state.settings, record, member, locale, new_token)


PageDep = Annotated[Page, Depends(page, scope="function")]


def member_page(current: PageDep) -> Page:
    """A page for members only; anonymous visitors are sent to log in and brought back."""
    if current.member is None:
        raise LoginRequired(local_path(str(current.request.url.path)))
    return current


async def checked_form(request: Request, current: PageDep) -> Page:
    """A POST with the session's CSRF token (form field or htmx header) from this site."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfRefused(current.locale)
    form = await request.form()
    presented = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not isinstance(presented, str) or not sessions.csrf_ok(current.record, presented):
        raise CsrfRefused(current.locale)
    return current


def member_form(current: Annotated[Page, Depends(checked_form)]) -> Page:
    if current.member is None:
        raise LoginRequired(f"{PREFIX}/bills")
    return current


MemberPage = Annotated[Page, Depends(member_page)]
FormPage = Annotated[Page, Depends(checked_form)]
MemberForm = Annotated[Page, Depends(member_form)]


def local_path(candidate: str | None, default: str = f"{PREFIX}/bills") -> str:
    """``candidate`` if it is a path inside the portal, else ``default`` (no open redirects)."""
    if not candidate:
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/"):
        return default
    if "\\" in candidate or "//" in parts.path:
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_url(next_path: str) -> str:
    return f"{PREFIX}/login?next={quote(next_path, safe='/')}"


class PortalSecurityHeaders:
    """Adds the security headers to every response under ``/portal`` (pages, errors, assets)
    and keeps pages with personal data out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        is_asset = scope["path"].startswith(f"{PREFIX}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not is_asset:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
