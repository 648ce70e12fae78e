"""The daily job on an injected clock: an unpaid bill is reminded once it is past due and
surcharged when the reminder's notice period is over; ``platebind cycle run`` does it."""

from __future__ import annotations

from sqlalchemy import select

from platebind.registry.models import AuditEntry
from tests.cli_helpers import Cli
from tests.conftest import Db
from tests.registry.test_cutover import tpe
from tests.roadside.conftest import Roadside

NOTHING = {"reminded": 0, "surcharged": 0}


def test_an_unpaid_bill_is_reminded_after_its_due_date_then_surcharged(
    roadside: Roadside,
) -> None:
    roadside.bind("jko", "ABC-1234")
    roadside.at("2026-11-27 12:00")
    answer = roadside.issue("B-1")  # due 2026-12-05 00:00
    roadside.settle(answer, "declined")
    assert roadside.daily("2026-12-04 23:59") == NOTHING
    assert roadside.daily("2026-12-05 04:00") == {"reminded": 1, "surcharged": 0}
    assert roadside.bill("B-1").reminded_at == tpe("2026-12-05 04:00")
    assert roadside.daily("2026-12-05 04:00") == NOTHING  # a re-run does nothing new
    # 15 whole days of notice after the 5th: the surcharge is due from the 21st.
    assert roadside.daily("2026-12-20 23:59") == NOTHING
    assert roadside.daily("2026-12-21 00:00") == {"reminded": 0, "surcharged": 1}
    assert roadside.daily("2026-12-22 04:00") == NOTHING
    bill = roadside.bill("B-1")
    assert (bill.amount, bill.surcharge, bill.total) == (45, 30, 75)
    assert roadside.row("B-1").surcharged_at == tpe("2026-12-21 00:00")
    overdue = roadside.outbox("jko", "bill.overdue")
    assert [e.payload["data"]["surcharge"] for e in overdue] == [0, 30]
    assert overdue[0].payload["data"]["reminded_at"] == "2026-12-05T04:00:00+08:00"
    # Paying it now collects the amount and the surcharge.
    roadside.pay_in_portal("B-1")
    with roadside.db.tx() as s:
        paid = s.scalars(select(AuditEntry).where(AuditEntry.action == "bill.pay")).one()
    assert (paid.detail["amount"], paid.detail["surcharge"]) == (75, 30)


def test_paid_void_and_driver_only_bills_are_not_told_to_anyone(roadside: Roadside) -> None:
    roadside.at("2026-11-27 12:00")
    roadside.issue("B-1", "ABC-1234")  # unbound: the driver's, no agent to tell
    roadside.issue("B-2", "XYZ-5678")
    roadside.pay_in_portal("B-2")
    roadside.moto("M-1")
    roadside.moto("M-2")  # void
    roadside.pay_in_portal("M-1")
    assert roadside.daily("2026-12-06 04:00") == {"reminded": 1, "surcharged": 0}
    assert roadside.bill("B-2").reminded_at is None
    assert roadside.outbox(prefix="bill.") == []


def test_the_scopes_rules_set_the_notice_and_the_surcharge(roadside: Roadside) -> None:
    cli = Cli(roadside.db.url)
    rules = cli.json("roadside", "rules", "tpe-roadside", "--notice-days", "3", "--surcharge", "50")
    assert (rules["notice_days"], rules["surcharge"], rules["due_days"]) == (3, 50, 7)
    roadside.at("2026-11-27 12:00")
    roadside.issue("B-1")
    assert roadside.daily("2026-12-05 04:00")["reminded"] == 1
    assert roadside.daily("2026-12-08 23:59")["surcharged"] == 0
    assert roadside.daily("2026-12-09 00:00")["surcharged"] == 1
    assert roadside.bill("B-1").surcharge == 50


def test_cycle_run_moves_roadside_bills_too(roadside: Roadside, db: Db) -> None:
    roadside.at("2026-11-27 12:00")
    roadside.issue("B-1")
    cli = Cli(db.url)
    before = cli.json("cycle", "run", at="2026-12-04T04:00")
    assert before["daily"]["roadside"] == NOTHING
    after = cli.json("cycle", "run", at="2026-12-05T04:00")
    assert after["daily"]["roadside"] == {"reminded": 1, "surcharged": 0}
    assert cli.json("cycle", "run", at="2026-12-05T05:00")["daily"]["roadside"] == NOTHING
    assert roadside.bill("B-1").reminded_at == tpe("2026-12-05 04:00")
