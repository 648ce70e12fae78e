"""Bills of plates: opened once per source and reason, listed for the portal, paid through a
payment step (the built-in one records a reference), voided."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from platebind.billing import bills
from platebind.billing.errors import BillAlreadyPaid, BillNotFound, BillVoid, PaymentFailed
from platebind.billing.models import Bill
from platebind.errors import DomainError
from platebind.registry.audit import Actor
from platebind.registry.models import AuditEntry
from tests.billing.conftest import Billing
from tests.conftest import T0

CITIZEN = Actor("citizen", "member-1", "req-1")


def open_bill(billing: Billing, source_id: str = "s-1", **change: Any) -> Bill:
    args: dict[str, Any] = {
        "vehicle_type": "car",
        "plate": "ABC-1234",
        "amount": 60,
        "kind": "lot",
        "reason": "unpaid_exit",
        "source": "session",
        "source_id": source_id,
        "place": "TPE0001",
        "started_at": T0 - timedelta(hours=2),
        "ended_at": T0,
    }
    args.update(change)
    with billing.db.tx() as s:
        return bills.open_bill(s, billing.db.clock.now(), **args)


def pay(billing: Billing, bill: Bill, step: bills.PaymentStep | None = None) -> bills.Payment:
    with billing.db.tx() as s:
        return bills.pay_bill(
            s, billing.db.clock.now(), CITIZEN, bill.id, payer="member:1", step=step
        )


def test_one_bill_per_source_and_reason(billing: Billing) -> None:
    first = open_bill(billing, plate="abc1234")
    assert (first.plate, first.status, first.issued_at, first.due_at) == (
        "ABC-1234",
        "unpaid",
        T0,
        None,
    )
    billing.db.clock.advance(timedelta(hours=1))
    again = open_bill(billing, amount=999)
    assert (again.id, again.amount, again.issued_at) == (first.id, 60, T0)
    other_reason = open_bill(billing, reason="declined")
    assert other_reason.id != first.id
    assert len(billing.bills()) == 2


def test_a_bill_of_nothing_is_recorded_as_paid(billing: Billing) -> None:
    bill = open_bill(billing, amount=0)
    assert (bill.status, bill.payment_reference, bill.paid_at) == (
        "paid",
        bills.NOTHING_TO_COLLECT,
        T0,
    )
    with billing.db.tx() as s:
        assert bills.bills_of_plates(s, [("car", "ABC-1234")]) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"kind": "valet"}, "invalid_input"),
        ({"reason": "because"}, "invalid_input"),
        ({"amount": -5}, "invalid_input"),
        ({"plate": "??"}, "invalid_plate"),
    ],
)
def test_a_malformed_bill_is_refused(billing: Billing, change: dict[str, Any], code: str) -> None:
    with pytest.raises(DomainError) as refused:
        open_bill(billing, **change)
    assert refused.value.code == code


def test_the_portal_lists_the_unpaid_bills_of_the_plates_asked_for(billing: Billing) -> None:
    old = open_bill(billing, "s-old")
    billing.db.clock.advance(timedelta(days=1))
    new = open_bill(billing, "s-new", reason="declined")
    paid = open_bill(billing, "s-paid")
    pay(billing, paid)
    billing.db.clock.advance(timedelta(minutes=1))
    moto = open_bill(billing, "s-moto", vehicle_type="motorcycle", plate="ABC-123")
    open_bill(billing, "s-else", plate="XYZ-5678")
    with billing.db.tx() as s:
        unpaid = bills.bills_of_plates(s, [("car", "ABC-1234"), ("motorcycle", "ABC-123")])
        every = bills.bills_of_plates(s, [("car", "ABC-1234")], status=None)
    assert [b.id for b in unpaid] == [old.id, new.id, moto.id]
    assert {b.id for b in every} == {old.id, new.id, paid.id}


def test_paying_through_the_built_in_step_records_the_reference(billing: Billing) -> None:
    bill = open_bill(billing)
    billing.db.clock.advance(timedelta(minutes=7))
    payment = pay(billing, bill, bills.RecordedPayment("counter-0042"))
    assert payment.paid_now
    assert (payment.bill.status, payment.bill.payment_reference) == ("paid", "counter-0042")
    assert (payment.bill.paid_at, payment.bill.paid_by) == (T0 + timedelta(minutes=7), "member:1")
    generated = pay(billing, open_bill(billing, "s-2")).bill.payment_reference
    assert generated is not None
    assert generated.startswith("rec-")
    assert len(generated) == 20
    with billing.db.tx() as s:
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "bill.pay")).all()
    assert [(a.actor_type, a.request_id, a.object_id) for a in audits][0] == (
        "citizen",
        "req-1",
        str(bill.id),
    )


class CountingStep:
    """A payment provider stand-in: counts collections, fails when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[uuid.UUID, int]] = []
        self.fail = fail

    def collect(self, bill: Bill, *, payer: str, now: datetime) -> str:
        self.calls.append((bill.id, bill.amount))
        if self.fail:
            raise PaymentFailed("card declined by the issuer")
        return f"psp-{len(self.calls)}"


def test_paying_twice_collects_once_and_returns_the_paid_bill(billing: Billing) -> None:
    bill = open_bill(billing)
    step = CountingStep()
    first = pay(billing, bill, step)
    billing.db.clock.advance(timedelta(minutes=1))
    second = pay(billing, bill, step)
    assert (first.paid_now, second.paid_now) == (True, False)
    assert step.calls == [(bill.id, 60)]
    assert (second.bill.payment_reference, second.bill.paid_at) == ("psp-1", T0)


def test_a_failed_payment_records_nothing(billing: Billing) -> None:
    bill = open_bill(billing)
    with pytest.raises(PaymentFailed) as refused:
        pay(billing, bill, CountingStep(fail=True))
    assert refused.value.status == 402
    (kept,) = billing.bills()
    assert (kept.status, kept.paid_at, kept.payment_reference) == ("unpaid", None, None)


def test_a_void_bill_cannot_be_paid_and_a_paid_one_cannot_be_voided(billing: Billing) -> None:
    bill = open_bill(billing)
    with billing.db.tx() as s:
        voided = bills.void_bill(s, T0, CITIZEN, bill.id, reason="issued in error")
        again = bills.void_bill(s, T0 + timedelta(hours=1), CITIZEN, bill.id, reason="again")
    assert (voided.status, again.voided_at, again.void_reason) == ("void", T0, "issued in error")
    with pytest.raises(BillVoid):
        pay(billing, bill)
    paid = open_bill(billing, "s-2")
    pay(billing, paid)
    with pytest.raises(BillAlreadyPaid), billing.db.tx() as s:
        bills.void_bill(s, T0, CITIZEN, paid.id, reason="too late")


def test_an_unknown_bill_is_not_found(billing: Billing) -> None:
    with pytest.raises(BillNotFound), billing.db.tx() as s:
        bills.pay_bill(s, T0, CITIZEN, uuid.uuid4(), payer="member:1")
