"""Who sees what, CSRF, rate limits, cookies and headers: through the pages and by crafting
requests by hand."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from platebind.api.app import create_app
from platebind.portal.models import MemberPlate
from platebind.registry.models import TransferCode
from tests.api.conftest import serve
from tests.portal.conftest import (
    ALICE_CAR,
    ALICE_EMAIL,
    BOB_CAR,
    BOB_EMAIL,
    PASSWORD,
    PortalClient,
    PortalWorld,
    portal_settings,
)
from tests.vehicles.extracts import ALICE, BOB


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    portal: PortalWorld,
) -> None:
    alice = portal.member(ALICE_EMAIL, ALICE)
    forged = alice.http.post("/portal/plates", data={"vehicle_type": "car", "plate": ALICE_CAR})
    assert forged.status_code == 403
    assert "表單已逾時或並非來自本網站" in forged.text
    wrong = alice.http.post(
        "/portal/plates",
        data={"vehicle_type": "car", "plate": ALICE_CAR, "csrf_token": "x" * 43},
    )
    assert wrong.status_code == 403
    with portal.db.tx() as s:
        assert s.scalars(select(MemberPlate)).all() == []


def test_a_post_from_another_site_is_refused_even_with_a_token(portal: PortalWorld) -> None:
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.page("/portal/bills")
    response = alice.post(
        "/portal/plates",
        {"vehicle_type": "car", "plate": ALICE_CAR},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_another_members_token_does_not_work_for_my_session(portal: PortalWorld) -> None:
    alice = portal.member(ALICE_EMAIL, ALICE)
    bob = portal.member(BOB_EMAIL, BOB)
    alice.page("/portal/bills")
    bob.page("/portal/bills")
    stolen = bob.http.post(
        "/portal/plates", data={"vehicle_type": "car", "plate": BOB_CAR, "csrf_token": alice.csrf}
    )
    assert stolen.status_code == 403


def test_a_member_never_sees_another_members_plates_codes_or_history(
    portal: PortalWorld,
) -> None:
    alice = portal.member(ALICE_EMAIL, ALICE)
    bob = portal.member(BOB_EMAIL, BOB)
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))
    alice.add_plate(ALICE_CAR)
    issued = alice.post(f"/portal/plates/car/{ALICE_CAR}/transfer-codes", {"scope": "tpe-lots"})
    assert issued.status_code == 200
    # Bob's list is his own: Alice's plate is not on it, and its pages are not his to open.
    assert ALICE_CAR not in bob.page("/portal/bills/parking").text
    for path in (f"/portal/plates/car/{ALICE_CAR}", f"/portal/plates/car/{ALICE_CAR}/history"):
        response = bob.get(path)
        assert response.status_code == 404
        assert "此車號不在您的清單中" in response.text
    # Once Bob looks the plate up he sees who holds it, as the city portal shows anyone, and
    # nothing of the owner's.
    bob.add_plate(ALICE_CAR)
    page = bob.page(f"/portal/plates/car/{ALICE_CAR}").text
    assert "目前綁定於 車麻吉" in page
    assert "transfer-codes" not in page
    assert "data-state=" not in page  # Alice's codes are not listed
    assert "/history" not in page
    history = bob.get(f"/portal/plates/car/{ALICE_CAR}/history")
    assert history.status_code == 403
    assert "僅車籍登記的車主可以進行此操作" in history.text


def test_a_non_owner_cannot_get_a_transfer_code_by_crafting_the_request(
    portal: PortalWorld,
) -> None:
    bob = portal.member(BOB_EMAIL, BOB)
    portal.bind("cmj", ALICE_CAR)
    bob.add_plate(ALICE_CAR)
    for headers in ({}, {"HX-Request": "true"}):
        response = bob.post(
            f"/portal/plates/car/{ALICE_CAR}/transfer-codes",
            {"scope": "tpe-lots"},
            headers=headers,
        )
        assert response.status_code == 403
        assert 'id="transfer-code"' not in response.text
    watch = bob.post(f"/portal/plates/car/{ALICE_CAR}/watch", {"scope": "tpe-lots"})
    assert watch.status_code == 403
    # Not on his list at all: the same answer as for a plate that does not exist.
    unlisted = bob.post(f"/portal/plates/car/{BOB_CAR}/transfer-codes", {"scope": "tpe-lots"})
    assert unlisted.status_code == 404
    with portal.db.tx() as s:
        assert s.scalars(select(TransferCode)).all() == []


def test_anonymous_visitors_are_sent_to_log_in(portal: PortalWorld) -> None:
    client = portal.client()
    for path in ("/portal/bills", f"/portal/plates/car/{ALICE_CAR}", "/portal/notices"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/portal/login?next=")
    client.get("/portal/login")
    posted = client.post("/portal/plates", {"vehicle_type": "car", "plate": ALICE_CAR})
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/portal/login")


def test_portal_pages_carry_security_headers_and_no_inline_code(portal: PortalWorld) -> None:
    client = portal.client()
    page = client.page("/portal/login")
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text
    assert "style=" not in page.text
    assert " onclick" not in page.text
    asset = client.get("/portal/static/portal.js")
    assert asset.status_code == 200
    assert asset.headers["x-content-type-options"] == "nosniff"
    assert client.get("/portal/static/../templates/base.html").status_code == 404


def test_session_cookie_is_secure_httponly_and_samesite_by_default(db: object) -> None:
    from tests.conftest import Db

    assert isinstance(db, Db)
    app = create_app(db.url, clock=db.clock, settings=portal_settings(portal_secure_cookies=True))
    with serve(app) as server, httpx.Client(base_url=server.base_url) as client:
        cookie = client.get("/portal/login").headers["set-cookie"].lower()
    assert "platebind_session=" in cookie
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/portal" in cookie


def test_log_in_is_limited_per_account_even_with_the_right_password(
    portal: PortalWorld,
) -> None:
    portal.member(ALICE_EMAIL, ALICE)
    attacker = portal.client()
    for _ in range(5):
        assert attacker.log_in(ALICE_EMAIL, "wrong password!").status_code == 401
    blocked = attacker.log_in(ALICE_EMAIL, PASSWORD)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    assert "嘗試次數過多" in blocked.text
    # Another browser is limited too: the count is the account's, kept in the database.
    assert portal.client().log_in(ALICE_EMAIL, PASSWORD).status_code == 429
    portal.db.clock.advance(timedelta(minutes=15))
    assert portal.client().log_in(ALICE_EMAIL, PASSWORD).status_code == 303


def test_log_in_limits_hold_across_two_server_processes(portal: PortalWorld) -> None:
    """Two app instances (as two ``serve`` processes) on one database share the budget."""
    portal.member(ALICE_EMAIL, ALICE)
    second_app = create_app(portal.db.url, clock=portal.db.clock, settings=portal_settings())
    with serve(second_app) as second:
        other = PortalClient(second.base_url)
        try:
            for attempt in range(5):
                client = other if attempt % 2 else portal.client()
                assert client.log_in(ALICE_EMAIL, "wrong password!").status_code == 401
            assert other.log_in(ALICE_EMAIL, PASSWORD).status_code == 429
        finally:
            other.close()


def test_look_ups_are_rate_limited_per_member(portal: PortalWorld) -> None:
    alice = portal.member(ALICE_EMAIL, ALICE)
    plates = [f"ABD-{n:04d}" for n in range(1, 32)]
    statuses = [alice.add_plate(plate).status_code for plate in plates]
    assert statuses[:30] == [303] * 30
    assert statuses[30] == 429
    with portal.db.tx() as s:
        assert len(s.scalars(select(MemberPlate)).all()) == 30
    # Looking at a plate already on the list is not a new look-up.
    assert alice.add_plate(plates[0]).status_code == 303
