"""Mounting the portal on the FastAPI app: its routers, static files, guards and headers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from platebind.api.errors import DATABASE_RETRY_AFTER_SECONDS, database_unavailable_handler
from platebind.billing.bills import PaymentStep, RecordedPayment
from platebind.portal import views_account, views_plates
from platebind.portal.i18n import pick_locale
from platebind.portal.messages import message_for
from platebind.portal.templating import render
from platebind.portal.web import (
    LANGUAGE_COOKIE,
    PREFIX,
    CsrfRefused,
    LoginRequired,
    PortalSecurityHeaders,
    login_url,
)

STATIC_DIR = Path(__file__).parent / "static"


async def _to_login(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


async def _csrf_refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CsrfRefused)
    return _error_page(exc.locale, "csrf_failed", 403)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """A browser gets a page it can show, with the API's status and ``Retry-After``; every
    other path keeps the API's problem document."""
    if not request.url.path.startswith(f"{PREFIX}/"):
        return await database_unavailable_handler(request, exc)
    locale = pick_locale(request.cookies.get(LANGUAGE_COOKIE))
    response = _error_page(locale, "service_unavailable", 503)
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def _error_page(locale: str, code: str, status: int) -> HTMLResponse:
    html = render(
        "error.html",
        locale,
        error=message_for(locale, code),
        member=None,
        csrf_token="",
        unread_notices=0,
        path=f"{PREFIX}/",
    )
    return HTMLResponse(html, status_code=status)


def install_portal(app: FastAPI, payment_step: PaymentStep | None = None) -> None:
    """Mount the portal. ``payment_step`` collects bill payments (default: the built-in step
    that records a reference; a city plugs in its payment provider here)."""
    app.state.payment_step = payment_step if payment_step is not None else RecordedPayment()
    app.include_router(views_account.router)
    app.include_router(views_plates.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    for unavailable in (OperationalError, PoolTimeout):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_middleware(PortalSecurityHeaders)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)
