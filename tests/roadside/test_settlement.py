"""An agent's answer to a roadside charge: paid → the bill is paid by the agent; paid after the
driver paid in the portal → refunded at once; declined (or nobody answers) → no second bill,
the issued bill stays payable in the portal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from platebind.billing import charges
from platebind.billing.models import SettleEvent
from platebind.roadside.settlement import REFUND_REASON
from tests.registry.test_cutover import tpe
from tests.roadside.conftest import Roadside


def bound_bill(roadside: Roadside) -> dict[str, object]:
    roadside.bind("jko", "ABC-1234")
    roadside.at("2026-11-27 12:00")
    answer = roadside.issue("B-1")
    assert answer["auto_pay"] is not None
    return answer


def test_the_agent_pays_and_the_bill_is_paid_by_the_agent(roadside: Roadside) -> None:
    answer = bound_bill(roadside)
    roadside.at("2026-11-27 12:05")
    charge = roadside.settle(answer, "paid", "jko-tx-1")
    assert charge.status == "paid"
    bill = roadside.bill("B-1")
    assert (bill.status, bill.paid_by, bill.payment_reference) == ("paid", "agent:jko", "jko-tx-1")
    assert bill.paid_at == tpe("2026-11-27 12:05")
    (paid,) = roadside.outbox("jko", "bill.paid")
    assert paid.payload["data"]["status"] == "paid"
    assert paid.payload["data"]["bill_no"] == "B-1"
    # Paying again is the same answer and pays nothing twice.
    roadside.settle(answer, "paid", "jko-tx-1")
    assert len(roadside.charges()) == 1
    assert len(roadside.outbox("jko", "bill.paid")) == 1


def test_a_bill_paid_in_the_portal_first_refunds_the_agent_at_once(roadside: Roadside) -> None:
    answer = bound_bill(roadside)
    roadside.at("2026-11-27 12:03")
    assert roadside.pay_in_portal("B-1").paid_now  # while the charge is still requested
    roadside.at("2026-11-27 12:05")
    roadside.settle(answer, "paid", "jko-tx-1")
    original, correction = sorted(roadside.charges(), key=lambda c: c.amount, reverse=True)
    assert (original.status, original.amount) == ("paid", 45)
    assert (correction.amount, correction.corrects_charge_id) == (-45, original.id)
    assert (correction.reason, correction.agent_id) == (REFUND_REASON, "jko")
    bill = roadside.bill("B-1")
    assert (bill.status, bill.paid_by) == ("paid", "member:m-1")
    assert [e.object_id for e in roadside.outbox("jko", "charge.corrected")] == [str(correction.id)]
    assert roadside.outbox("jko", "bill.paid") == []
    with roadside.db.tx() as s:
        lines = s.scalars(select(SettleEvent.amount).order_by(SettleEvent.id)).all()
    assert lines == [45, -45]  # the agent's statement nets to nothing


def test_a_declined_charge_leaves_the_issued_bill_payable_in_the_portal(
    roadside: Roadside,
) -> None:
    answer = bound_bill(roadside)
    roadside.settle(answer, "declined")
    (bill,) = roadside.bills()  # no second bill
    assert (bill.status, bill.reason, bill.due_at) == ("unpaid", "issued", tpe("2026-12-05 00:00"))
    payment = roadside.pay_in_portal("B-1")
    assert (payment.bill.status, payment.bill.paid_by) == ("paid", "member:m-1")


def test_a_charge_nobody_answers_is_declined_without_a_second_bill(roadside: Roadside) -> None:
    bound_bill(roadside)
    with roadside.db.tx() as s:
        expiry = charges.expire_unsettled(s, roadside.db.clock.now() + timedelta(hours=48))
    assert (expiry.declined, expiry.billed) == (1, 0)
    (charge,) = roadside.charges()
    assert (charge.status, charge.reason) == ("declined", "unsettled")
    assert [(b.reason, b.status) for b in roadside.bills()] == [("issued", "unpaid")]


def test_a_lot_charge_still_becomes_a_bill_when_declined(roadside: Roadside) -> None:
    """The extension point leaves other sources to billing's default."""
    with roadside.db.tx() as s:
        charge = charges.request_charge(
            s,
            roadside.db.clock.now(),
            agent_id="cmj",
            scope_id="tpe-lots",
            vehicle_type="car",
            plate="XYZ-5678",
            amount=75,
            source="session",
            source_id="s-1",
        )
    with roadside.db.tx() as s:
        charges.settle(s, roadside.db.clock.now(), "cmj", charge.id, "declined", None, "no")
    assert [(b.kind, b.reason) for b in roadside.bills()] == [("lot", "declined")]
