"""我的帳單: unpaid bills of the listed plates, who sees what, and paying them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from platebind.billing.bills import open_bill
from platebind.billing.models import Bill
from tests.portal.conftest import (
    ALICE_CAR,
    ALICE_EMAIL,
    BOB_CAR,
    BOB_EMAIL,
    PortalWorld,
)
from tests.vehicles.extracts import ALICE, BOB


def _bill(portal: PortalWorld, plate: str, amount: int, kind: str = "lot", n: int = 1) -> Bill:
    now = portal.db.clock.now()
    with portal.db.tx() as s:
        bill = open_bill(
            s,
            now,
            vehicle_type="car",
            plate=plate,
            amount=amount,
            kind=kind,
            reason="unpaid_exit",
            source="session",
            source_id=f"test-{plate}-{n}",
            place="市民大道地下停車場",
            started_at=now - timedelta(hours=2, minutes=10),
            ended_at=now,
            due_at=now + timedelta(days=7),
        )
        s.expunge(bill)
        return bill


def test_the_owner_sees_the_bill_with_place_and_time_and_pays_it(portal: PortalWorld) -> None:
    bill = _bill(portal, ALICE_CAR, 75)
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.add_plate(ALICE_CAR)
    page = alice.page("/portal/bills").text
    number = bill.id.hex[:8].upper()
    assert f'data-bill="{number}"' in page
    assert "75 元" in page
    assert "市民大道地下停車場" in page
    assert "2026-12-03 (週四) 10:00" in page  # due in 7 days
    paid = alice.post(f"/portal/bills/{bill.id}/pay")
    assert paid.status_code == 200
    assert "繳費完成" in paid.text
    assert "繳費編號：rec-" in paid.text
    assert f'data-bill="{number}"' not in alice.page("/portal/bills").text
    with portal.db.tx() as s:
        stored = s.get(Bill, bill.id)
        assert stored is not None
        assert stored.status == "paid"
        assert stored.paid_by is not None
        assert stored.paid_by.startswith("member:")


def test_a_family_member_sees_amount_and_due_date_but_not_where_and_may_pay(
    portal: PortalWorld,
) -> None:
    bill = _bill(portal, ALICE_CAR, 75)
    bob = portal.member(BOB_EMAIL, BOB)
    bob.add_plate(ALICE_CAR)
    page = bob.page("/portal/bills").text
    assert "75 元" in page
    assert "市民大道地下停車場" not in page
    assert "僅車主可見" in page
    assert bob.post(f"/portal/bills/{bill.id}/pay").status_code == 200
    again = bob.post(f"/portal/bills/{bill.id}/pay")
    assert again.status_code == 200
    assert "此帳單已繳清，未重複扣款" in again.text


def test_a_bill_of_a_plate_not_on_the_list_cannot_be_seen_or_paid(portal: PortalWorld) -> None:
    bill = _bill(portal, BOB_CAR, 40)
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.add_plate(ALICE_CAR)
    assert bill.id.hex[:8].upper() not in alice.page("/portal/bills").text
    crafted = alice.post(f"/portal/bills/{bill.id}/pay")
    assert crafted.status_code == 404
    with portal.db.tx() as s:
        stored = s.get(Bill, bill.id)
        assert stored is not None
        assert stored.status == "unpaid"


def test_bills_can_be_filtered_by_kind_and_show_on_the_plate_page(portal: PortalWorld) -> None:
    lot = _bill(portal, ALICE_CAR, 75, "lot", 1)
    roadside = _bill(portal, ALICE_CAR, 30, "roadside", 2)
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.add_plate(ALICE_CAR)
    numbers = {b.id: b.id.hex[:8].upper() for b in (lot, roadside)}
    only_roadside = alice.page("/portal/bills?kind=roadside").text
    assert numbers[roadside.id] in only_roadside
    assert numbers[lot.id] not in only_roadside
    everything = alice.page("/portal/bills").text
    assert all(n in everything for n in numbers.values())
    plate_page = alice.page(f"/portal/plates/car/{ALICE_CAR}").text
    assert all(n in plate_page for n in numbers.values())
    with portal.db.tx() as s:
        assert len(s.scalars(select(Bill)).all()) == 2


def test_a_surcharge_is_shown_and_collected_with_the_bill(portal: PortalWorld) -> None:
    bill = _bill(portal, ALICE_CAR, 40, "roadside")
    with portal.db.tx() as s:
        stored = s.get(Bill, bill.id)
        assert stored is not None
        stored.surcharge = 30
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.add_plate(ALICE_CAR)
    page = alice.page("/portal/bills").text
    assert "70 元" in page
    assert "含工本費 30 元" in page
    paid = alice.post(f"/portal/bills/{bill.id}/pay")
    assert "新臺幣 70 元" in paid.text


def test_a_member_who_asks_is_reminded_three_days_before_a_bill_is_due_once(
    portal: PortalWorld,
) -> None:
    from platebind.portal import tasks
    from platebind.portal.models import Notice, OutgoingEmail
    from tests.portal.conftest import portal_settings

    bill = _bill(portal, ALICE_CAR, 75)  # due in 7 days
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.add_plate(ALICE_CAR)
    assert alice.post("/portal/bills/reminders", {"wanted": "on"}).status_code == 303
    assert "帳單到期前三天會以電子郵件提醒您" in alice.page("/portal/bills").text

    def run() -> int:
        return tasks.run_notices(portal.db.factory, portal.db.clock, portal_settings()).notices

    assert run() == 0  # seven days before: too early
    portal.db.clock.advance(timedelta(days=4))
    assert run() == 1
    assert run() == 0  # once per bill
    with portal.db.tx() as s:
        (email,) = s.scalars(select(OutgoingEmail)).all()
        (notice,) = s.scalars(select(Notice)).all()
    number = bill.id.hex[:8].upper()
    assert email.to_address == ALICE_EMAIL
    assert f"帳單 {number}（{ALICE_CAR}，75 元）請於 2026-12-03 (週四) 10:00 前繳納" in email.body
    assert notice.params["number"] == number
