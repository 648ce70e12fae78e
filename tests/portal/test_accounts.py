"""Registration, log-in and sessions through the real server (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from platebind.portal import accounts, sessions
from platebind.portal.models import Member, PortalSession
from platebind.vehicles.service import IdHashKeyChanged
from tests.portal.conftest import ALICE_EMAIL, PASSWORD, PortalWorld
from tests.vehicles.extracts import ALICE, BOB, KEY


def test_registration_logs_the_member_in_and_lands_on_my_bills(portal: PortalWorld) -> None:
    client = portal.client()
    response = client.register("Alice@Example.TW ", ALICE)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/bills"
    page = client.page("/portal/bills")
    assert "我的帳單" in page.text
    assert "登出" in page.text


def test_national_id_is_stored_only_as_a_keyed_hash(portal: PortalWorld) -> None:
    portal.member(ALICE_EMAIL, ALICE)
    with portal.db.tx() as s:
        member = s.scalars(select(Member)).one()
        dump = " ".join(str(v) for v in s.execute(text("SELECT * FROM members")).one())
    assert member.email == "alice@example.tw"
    assert ALICE not in dump
    assert ALICE.lower() not in dump
    assert len(member.owner_key) == 64
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in dump


def test_each_refused_field_gets_its_own_message_and_nothing_is_stored(
    portal: PortalWorld,
) -> None:
    client = portal.client()
    client.get("/portal/register")
    response = client.post(
        "/portal/register",
        {"email": "not-an-address", "password": "short", "national_id": "A123456780"},
    )
    assert response.status_code == 422
    assert "請輸入有效的電子郵件" in response.text
    assert "密碼至少需要 10 個字元" in response.text
    assert "檢查碼" in response.text
    assert 'aria-invalid="true"' in response.text
    assert "A123456780" not in response.text
    with portal.db.tx() as s:
        assert s.scalars(select(Member)).all() == []


def test_one_account_per_email_and_per_national_id(portal: PortalWorld) -> None:
    portal.member(ALICE_EMAIL, ALICE)
    again = portal.client().register(ALICE_EMAIL, BOB)
    assert again.status_code == 422
    assert "此電子郵件已註冊" in again.text
    same_id = portal.client().register("other@example.tw", ALICE)
    assert same_id.status_code == 422
    assert "此身分證字號已註冊" in same_id.text


def test_wrong_password_and_unknown_email_get_the_same_generic_error(
    portal: PortalWorld,
) -> None:
    portal.member(ALICE_EMAIL, ALICE)
    wrong_password = portal.client().log_in(ALICE_EMAIL, "wrong password!")
    unknown = portal.client().log_in("nobody@example.tw", "wrong password!")
    for response in (wrong_password, unknown):
        assert response.status_code == 401
        assert "電子郵件或密碼錯誤" in response.text
    assert wrong_password.text.count("電子郵件或密碼錯誤") == unknown.text.count(
        "電子郵件或密碼錯誤"
    )


def test_log_in_replaces_the_session_and_log_out_ends_it(portal: PortalWorld) -> None:
    portal.member(ALICE_EMAIL, ALICE)
    client = portal.client()
    client.get("/portal/login")
    anonymous = client.http.cookies["platebind_session"]
    response = client.log_in(ALICE_EMAIL)
    assert response.status_code == 303
    logged_in = client.http.cookies["platebind_session"]
    assert logged_in != anonymous
    client.page("/portal/bills")
    assert client.post("/portal/logout").status_code == 303
    assert client.get("/portal/bills").headers["location"].startswith("/portal/login")
    # The old cookie is worthless even when replayed by hand.
    replay = portal.client()
    replay.http.cookies.set("platebind_session", logged_in)
    assert replay.get("/portal/bills").status_code == 303


def test_log_in_returns_to_the_page_asked_for_but_never_off_site(portal: PortalWorld) -> None:
    portal.member(ALICE_EMAIL, ALICE)
    client = portal.client()
    first = client.get("/portal/bills/parking")
    assert first.headers["location"] == "/portal/login?next=/portal/bills/parking"
    client.get(first.headers["location"])
    back = client.post(
        "/portal/login",
        {"email": ALICE_EMAIL, "password": PASSWORD, "next": "/portal/bills/parking"},
    )
    assert back.headers["location"] == "/portal/bills/parking"
    for hostile in ("https://evil.example/", "//evil.example/portal/", "/\\evil.example"):
        other = portal.client()
        other.get("/portal/login")
        away = other.post(
            "/portal/login", {"email": ALICE_EMAIL, "password": PASSWORD, "next": hostile}
        )
        assert away.headers["location"] == "/portal/bills"


def test_sessions_expire_after_two_idle_hours(portal: PortalWorld) -> None:
    client = portal.member(ALICE_EMAIL, ALICE)
    client.page("/portal/bills")
    portal.db.clock.advance(timedelta(hours=1, minutes=59))
    client.page("/portal/bills")
    portal.db.clock.advance(timedelta(hours=2))
    assert client.get("/portal/bills").status_code == 303
    now = portal.db.clock.now()
    with portal.db.tx() as s:
        expired = [r for r in s.scalars(select(PortalSession)) if r.member_id is not None]
        assert expired
        assert all(r.expires_at <= now for r in expired)
        assert sessions.purge_expired(s, now) >= len(expired)
        assert (
            s.scalars(select(PortalSession).where(PortalSession.member_id.is_not(None))).all() == []
        )


def test_language_switch_sticks_to_the_member(portal: PortalWorld) -> None:
    client = portal.member(ALICE_EMAIL, ALICE)
    switched = client.post("/portal/language", {"to": "en", "next": "/portal/bills"})
    assert switched.headers["location"] == "/portal/bills"
    page = client.page("/portal/bills")
    assert "My bills" in page.text
    assert 'lang="en"' in page.text
    # A new browser of the same member gets English too (the setting is the member's).
    other = portal.client()
    other.log_in(ALICE_EMAIL)
    assert "My bills" in other.page("/portal/bills").text


def test_registration_with_another_hash_key_than_the_registrys_is_refused(
    portal: PortalWorld,
) -> None:
    """The vehicle registry's hashes were made with KEY: a member hashed with another key
    would never match a plate, so the registration is refused, not stored."""
    form = accounts.Registration(ALICE_EMAIL, PASSWORD, ALICE)
    other_key = "another-random-key-that-is-long-enough-7d1e"
    with pytest.raises(IdHashKeyChanged), portal.db.tx() as s:
        accounts.register(s, form, portal.db.clock.now(), other_key)
    with portal.db.tx() as s:
        assert s.scalars(select(Member)).all() == []
        assert accounts.register(s, form, portal.db.clock.now(), KEY).email == ALICE_EMAIL
