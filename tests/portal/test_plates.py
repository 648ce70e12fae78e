"""我的帳單 → 北市停車費 → 新增綁定 and the plate page: holder, exact times, what to do next."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from platebind.portal.models import MemberPlate
from platebind.registry import agents
from platebind.registry.models import Binding
from tests.conftest import ADMIN
from tests.portal.conftest import (
    ALICE_BIKE,
    ALICE_CAR,
    ALICE_EMAIL,
    NOBODYS_CAR,
    PortalClient,
    PortalWorld,
)
from tests.vehicles.extracts import ALICE

# T0 is Thursday 2026-11-26 10:00 Taipei; tpe-lots cuts over at 04:00 after a 1-hour lead.
FRIDAY_0400 = "2026-11-27 (週五) 04:00"
SATURDAY_0400 = "2026-11-28 (週六) 04:00"
SATURDAY_0400_EN = "2026-11-28 (Sat) 04:00"


def scope_block(html: str, scope: str) -> str:
    """One scope's block on a plate page: its situation attribute, then its visible text."""
    start = html.index(f'data-scope="{scope}"')
    block = html[start : html.index("</div>", html.index("data-situation", start))]
    situation = re.search(r'data-situation="[a-z_]+"', block)
    assert situation is not None
    return situation.group(0) + " " + visible_text(block)


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split(">", 1)[1]))


@pytest.fixture
def alice(portal: PortalWorld) -> PortalClient:
    return portal.member(ALICE_EMAIL, ALICE)


def test_adding_a_plate_normalises_it_and_opens_its_page(
    portal: PortalWorld, alice: PortalClient
) -> None:
    response = alice.add_plate("abc 1234")
    assert response.status_code == 303
    assert response.headers["location"] == f"/portal/plates/car/{ALICE_CAR}"
    page = alice.page(response.headers["location"])
    assert ALICE_CAR in page.text
    assert "您的車輛" in page.text  # the vehicle registry names Alice as the owner
    listing = alice.page("/portal/bills/parking")
    assert ALICE_CAR in listing.text


def test_an_unreadable_plate_is_explained_and_nothing_is_added(
    portal: PortalWorld, alice: PortalClient
) -> None:
    response = alice.add_plate("IO-0000")
    assert response.status_code == 422
    assert "此車號不符合所選車種的格式" in response.text
    assert 'aria-invalid="true"' in response.text
    with portal.db.tx() as s:
        assert s.scalars(select(MemberPlate)).all() == []


def test_unbound_plate_says_so_and_when_a_bind_made_now_takes_effect(
    portal: PortalWorld, alice: PortalClient
) -> None:
    alice.add_plate(ALICE_CAR)
    block = scope_block(alice.page(f"/portal/plates/car/{ALICE_CAR}").text, "tpe-lots")
    assert 'data-situation="unbound"' in block
    assert "未綁定任何代繳單位" in block
    assert FRIDAY_0400 in block


def test_held_plate_names_the_agent_and_the_exact_end_of_an_unbind_made_now(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))  # Friday 10:00: the binding is active
    alice.add_plate(ALICE_CAR)
    block = scope_block(alice.page(f"/portal/plates/car/{ALICE_CAR}").text, "tpe-lots")
    assert 'data-situation="held"' in block
    assert "目前綁定於 車麻吉" in block
    assert f"現在解除將於 {SATURDAY_0400} 生效" in block
    # The roadside scope is separate and unaffected.
    roadside = scope_block(alice.page(f"/portal/plates/car/{ALICE_CAR}").text, "tpe-roadside")
    assert 'data-situation="unbound"' in roadside


def test_ending_binding_shows_its_end_and_a_queued_bind_shows_the_move(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))
    portal.unbind("cmj", ALICE_CAR)
    alice.add_plate(ALICE_CAR)
    block = scope_block(alice.page(f"/portal/plates/car/{ALICE_CAR}").text, "tpe-lots")
    assert 'data-situation="ending"' in block
    assert f"由 車麻吉 代繳至 {SATURDAY_0400}" in block
    assert f"將預約於 {SATURDAY_0400} 準時生效" in block
    portal.bind("pi", ALICE_CAR)
    block = scope_block(alice.page(f"/portal/plates/car/{ALICE_CAR}").text, "tpe-lots")
    assert 'data-situation="moving"' in block
    assert f"將於 {SATURDAY_0400} 由 車麻吉 移轉至 Pi 拍錢包" in block


def test_scheduled_bind_on_an_unbound_plate_shows_when_it_starts(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("jko", ALICE_BIKE, vehicle_type="motorcycle")
    alice.add_plate(ALICE_BIKE, "motorcycle")
    block = scope_block(alice.page(f"/portal/plates/motorcycle/{ALICE_BIKE}").text, "tpe-lots")
    assert 'data-situation="starting"' in block
    assert f"街口支付 將於 {FRIDAY_0400} 開始代繳" in block


def test_a_suspended_holder_is_named_and_any_app_may_take_over(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))
    with portal.db.tx() as s:
        agents.set_agent_status(s, portal.db.clock, ADMIN, "cmj", "suspended")
    alice.add_plate(ALICE_CAR)
    block = scope_block(alice.page(f"/portal/plates/car/{ALICE_CAR}").text, "tpe-lots")
    assert 'data-situation="held_by_suspended"' in block
    assert f"不需移轉碼：將於 {SATURDAY_0400} 接手" in block


def test_transfer_code_flow_shows_the_scheduled_transfer_with_its_time(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))
    alice.add_plate(ALICE_CAR)
    issued = alice.post(f"/portal/plates/car/{ALICE_CAR}/transfer-codes", {"scope": "tpe-lots"})
    assert issued.status_code == 200
    code = issued.text.split('id="transfer-code" class="code">')[1].split("<")[0]
    with portal.agent_api("pi") as pi:
        bound = pi.post(
            "/v1/bindings",
            json={
                "scope": "tpe-lots",
                "vehicle_type": "car",
                "plate": ALICE_CAR,
                "transfer_code": code,
            },
        )
    assert bound.status_code == 201, bound.text
    page = alice.page(f"/portal/plates/car/{ALICE_CAR}").text
    block = scope_block(page, "tpe-lots")
    assert 'data-situation="moving"' in block
    assert f"將於 {SATURDAY_0400} 由 車麻吉 移轉至 Pi 拍錢包" in block
    assert 'data-state="used"' in page
    assert code not in page  # shown once, never again


def test_the_same_flow_in_english(portal: PortalWorld, alice: PortalClient) -> None:
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))
    alice.post("/portal/language", {"to": "en", "next": "/portal/bills"})
    alice.add_plate(ALICE_CAR)
    block = scope_block(alice.page(f"/portal/plates/car/{ALICE_CAR}").text, "tpe-lots")
    assert "Taipei public parking lots" in block
    assert "Bound to CarMaji." in block or "Bound to 車麻吉." in block
    assert "an unbind made now ends at" in block
    assert SATURDAY_0400_EN in block


def test_a_new_code_voids_the_previous_one_and_codes_are_listed_without_their_value(
    portal: PortalWorld, alice: PortalClient
) -> None:
    alice.add_plate(ALICE_CAR)
    first = alice.post(f"/portal/plates/car/{ALICE_CAR}/transfer-codes", {"scope": "tpe-lots"})
    second = alice.post(
        f"/portal/plates/car/{ALICE_CAR}/transfer-codes",
        {"scope": "tpe-lots"},
        headers={"HX-Request": "true"},
    )
    assert "<html" not in second.text  # htmx gets the fragment only
    assert 'id="transfer-code"' in second.text
    page = alice.page(f"/portal/plates/car/{ALICE_CAR}").text
    assert page.count('data-state="voided"') == 1
    assert page.count('data-state="usable"') == 1
    for response in (first, second):
        code = response.text.split('id="transfer-code" class="code">')[1].split("<")[0]
        assert code not in page


def test_history_lists_every_interval_for_the_owner(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", ALICE_CAR)
    portal.advance(timedelta(days=1))
    portal.unbind("cmj", ALICE_CAR)
    portal.bind("pi", ALICE_CAR)
    alice.add_plate(ALICE_CAR)
    history = alice.page(f"/portal/plates/car/{ALICE_CAR}/history").text
    assert history.count("<tr>") == 3  # header + two intervals
    assert "車麻吉" in history
    assert "Pi 拍錢包" in history
    assert FRIDAY_0400 in history
    assert SATURDAY_0400 in history
    assert "已解除綁定" in history  # the end reason, in the reader's language


def test_removing_a_plate_takes_it_off_the_list_only(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", ALICE_CAR)
    alice.add_plate(ALICE_CAR)
    assert alice.post(f"/portal/plates/car/{ALICE_CAR}/remove").status_code == 303
    assert ALICE_CAR not in alice.page("/portal/bills/parking").text
    assert alice.get(f"/portal/plates/car/{ALICE_CAR}").status_code == 404
    with portal.db.tx() as s:
        assert len(s.scalars(select(Binding)).all()) == 1


def test_a_plate_nobody_owns_can_be_looked_up_but_has_no_owner_tools(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", NOBODYS_CAR)
    alice.add_plate(NOBODYS_CAR)
    page = alice.page(f"/portal/plates/car/{NOBODYS_CAR}").text
    assert "transfer-codes" not in page
    assert "/history" not in page
    assert "僅供車籍登記的車主使用" in page


def test_the_portal_link_of_a_refused_bind_opens_the_prefilled_look_up(
    portal: PortalWorld, alice: PortalClient
) -> None:
    portal.bind("cmj", ALICE_CAR)
    with portal.agent_api("pi") as pi:
        refused = pi.post(
            "/v1/bindings", json={"scope": "tpe-lots", "vehicle_type": "car", "plate": ALICE_CAR}
        )
    assert refused.status_code == 409
    form = alice.page(refused.json()["portal_url"]).text
    assert f'name="plate" value="{ALICE_CAR}"' in form
    assert 'value="car" checked' in form
