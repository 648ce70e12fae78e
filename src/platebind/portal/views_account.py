"""Registration, log-in, log-out and the language switch."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from platebind import ratelimit
from platebind.portal import accounts, sessions
from platebind.portal.i18n import LOCALES
from platebind.portal.web import LANGUAGE_COOKIE, PREFIX, FormPage, PageDep, local_path
from platebind.ratelimit import Limit, RateLimited
from platebind.vehicles.service import id_hash_key

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# Failed log-ins per account; attempts of any kind per address (several accounts, one robot).
FAILED_LOGINS_PER_EMAIL = Limit("portal.login.email", 5, timedelta(minutes=15))
LOGINS_PER_ADDRESS = Limit("portal.login.address", 30, timedelta(minutes=15))
REGISTRATIONS_PER_ADDRESS = Limit("portal.register.address", 10, timedelta(hours=1))

TextField = Annotated[str, Form(max_length=1000)]
NextField = Annotated[str, Form(max_length=1000)]


@router.get("/")
def home(current: PageDep) -> Response:
    return current.redirect(f"{PREFIX}/bills" if current.member else f"{PREFIX}/login")


@router.get("/login")
def login_form(current: PageDep, next: str | None = None) -> Response:  # noqa: A002
    if current.member is not None:
        return current.redirect(local_path(next))
    return current.render("login.html", next=local_path(next), email="", error=None)


@router.post("/login")
def log_in(
    current: FormPage,
    email: TextField,
    password: TextField,
    next: NextField = "",  # noqa: A002
) -> Response:
    shown = {"next": local_path(next), "email": email}
    account = accounts.canonical_email(email)
    try:
        current.count(LOGINS_PER_ADDRESS, current.client_address)
        ratelimit.refuse_if_spent(current.db, FAILED_LOGINS_PER_EMAIL, account, current.now)
    except RateLimited as error:
        return current.refused("login.html", error, **shown)
    member = accounts.authenticate(current.db, email, password)
    if member is None:
        try:
            current.count(FAILED_LOGINS_PER_EMAIL, account)
        except RateLimited as error:
            return current.refused("login.html", error, **shown)
        return current.render(
            "login.html", status=401, error=current.message("login_failed"), **shown
        )
    current.new_token = sessions.log_in(current.db, current.record, member.id, current.now).token
    return current.redirect(local_path(next))


@router.get("/register")
def register_form(current: PageDep) -> Response:
    return current.render("register.html", email="", errors={}, error=None)


@router.post("/register")
def register(
    current: FormPage, email: TextField, password: TextField, national_id: TextField
) -> Response:
    shown = {"email": email, "errors": {}}
    try:
        current.count(REGISTRATIONS_PER_ADDRESS, current.client_address)
    except RateLimited as error:
        return current.refused("register.html", error, **shown)
    form = accounts.Registration(email, password, national_id, current.locale)
    try:
        member = accounts.register(
            current.db, form, current.now, id_hash_key(current.settings.id_hash_key)
        )
    except accounts.RegistrationInvalid as refused:
        errors = {name: current.message(code) for name, code in refused.extra["errors"].items()}
        return current.render("register.html", status=422, email=email, errors=errors, error=None)
    current.new_token = sessions.log_in(current.db, current.record, member.id, current.now).token
    return current.redirect(f"{PREFIX}/bills")


@router.post("/logout")
def log_out(current: FormPage) -> Response:
    sessions.end(current.db, current.record)
    response = current.redirect(f"{PREFIX}/login")
    response.delete_cookie(sessions.COOKIE_NAME, path=PREFIX)
    return response


@router.post("/language")
def switch_language(
    current: FormPage,
    to: Annotated[str, Form(max_length=10)],
    next: NextField = "",  # noqa: A002
) -> Response:
    locale = to if to in LOCALES else current.locale
    if current.member is not None:
        accounts.set_locale(current.member, locale)
    response = current.redirect(local_path(next))
    response.set_cookie(
        LANGUAGE_COOKIE,
        locale,
        max_age=365 * 24 * 3600,
        path=PREFIX,
        secure=current.settings.portal_secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return response
