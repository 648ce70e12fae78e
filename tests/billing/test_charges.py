"""Charges: requested by an exit, settled by the agent, corrected by the authority, declined
when nobody answers for 48 hours — every rule on the test's clock, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from platebind.billing import bills, charges, tasks
from platebind.billing.errors import (
    ChargeAlreadySettled,
    ChargeNotCorrectable,
    ChargeNotFound,
    CorrectionExceedsCharge,
)
from platebind.billing.models import Charge
from platebind.billing.schemas import ChargeOut
from platebind.errors import DomainError, InvalidInput
from platebind.registry.models import AuditEntry
from tests.billing.conftest import Billing
from tests.conftest import ADMIN, T0

# ---------------------------------------------------------------------------------------------
# Requesting


def test_a_new_charge_is_requested_and_told_to_its_agent_with_the_whole_charge(
    billing: Billing,
) -> None:
    charge = billing.charge("s-1", plate="abc 1234", amount=75)
    assert (charge.status, charge.plate, charge.amount) == ("requested", "ABC-1234", 75)
    assert (charge.requested_at, charge.settled_at, charge.match) == (T0, None, "exact")
    (event,) = billing.outbox()
    assert (event.event_type, event.agent_id, event.object_id) == (
        "charge.requested",
        "cmj",
        str(charge.id),
    )
    assert event.payload == {
        "type": "charge.requested",
        "data": ChargeOut.of(charge).model_dump(mode="json"),
    }
    assert event.payload["data"]["started_at"] == "2026-11-26T07:50:00+08:00"
    assert billing.events() == []  # a request is no statement line


def test_a_replayed_request_returns_the_first_charge_unchanged(billing: Billing) -> None:
    first = billing.charge("s-1", amount=75)
    billing.db.clock.advance(timedelta(minutes=5))
    again = billing.charge("s-1", amount=999, agent="pi", plate="XYZ-5678")
    assert again.id == first.id
    assert (again.amount, again.agent_id, again.plate, again.requested_at) == (
        75,
        "cmj",
        "ABC-1234",
        T0,
    )
    assert len(billing.outbox()) == 1
    with billing.db.tx() as s:
        assert s.scalar(select(func.count()).select_from(Charge)) == 1


def test_a_replay_in_the_same_transaction_finds_the_charge_too(billing: Billing) -> None:
    values: dict[str, Any] = {
        "agent_id": "cmj",
        "scope_id": "tpe-lots",
        "vehicle_type": "car",
        "plate": "ABC-1234",
        "source": "session",
        "source_id": "s-1",
    }
    with billing.db.tx() as s:
        first = charges.request_charge(s, T0, amount=75, **values)
        second = charges.request_charge(s, T0, amount=80, **values)
    assert second is first
    assert second.amount == 75


def test_a_free_stay_is_paid_at_once_told_to_nobody_and_on_no_statement(
    billing: Billing,
) -> None:
    charge = billing.charge("s-free", amount=0)
    assert (charge.status, charge.reference, charge.settled_at) == (
        "paid",
        charges.NOTHING_TO_COLLECT,
        T0,
    )
    assert billing.outbox() == []
    assert billing.events() == []


def test_a_fuzzy_match_keeps_what_the_camera_read(billing: Billing) -> None:
    charge = billing.charge("s-1", match="fuzzy", raw_plate="A8C-1Z34")
    assert (charge.match, charge.raw_plate) == ("fuzzy", "A8C-1Z34")
    (event,) = billing.outbox()
    assert event.payload["data"]["match"] == "fuzzy"
    assert event.payload["data"]["raw_plate"] == "A8C-1Z34"


def test_a_heavy_motorcycle_is_charged_as_the_motorcycle_it_binds_as(billing: Billing) -> None:
    charge = billing.charge("s-1", plate="abc123", vehicle_type="heavy_motorcycle")
    assert (charge.vehicle_type, charge.plate) == ("motorcycle", "ABC-123")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": -1}, "invalid_input"),
        ({"plate": "not a plate"}, "invalid_plate"),
        ({"match": "maybe"}, "invalid_input"),
        ({"raw_plate": "X" * 33}, "invalid_input"),
        ({"place": ""}, "invalid_input"),
    ],
)
def test_a_malformed_request_is_refused(
    billing: Billing, change: dict[str, Any], code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        billing.charge("s-1", **change)
    assert refused.value.code == code
    assert billing.outbox() == []


# ---------------------------------------------------------------------------------------------
# Settling


def test_paying_records_the_reference_and_one_line_dated_now(billing: Billing) -> None:
    charge = billing.charge("s-1")
    billing.db.clock.advance(timedelta(minutes=3))
    paid = billing.settle(charge, "paid", "cmj-tx-1")
    assert (paid.status, paid.reference, paid.settled_at) == (
        "paid",
        "cmj-tx-1",
        T0 + timedelta(minutes=3),
    )
    (line,) = billing.events()
    assert (line.kind, line.amount, line.at, line.agent_id) == (
        "paid",
        75,
        T0 + timedelta(minutes=3),
        "cmj",
    )
    with billing.db.tx() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "charge.paid")).one()
    assert (audit.actor_type, audit.actor_id, audit.object_id) == ("agent", "cmj", str(charge.id))


def test_paying_needs_the_agents_reference(billing: Billing) -> None:
    charge = billing.charge("s-1")
    with pytest.raises(InvalidInput, match="reference"):
        billing.settle(charge, "paid")
    assert billing.get(charge.id).status == "requested"


def test_the_same_settle_again_returns_the_charge_unchanged(billing: Billing) -> None:
    charge = billing.charge("s-1")
    first = billing.settle(charge, "paid", "cmj-tx-1")
    billing.db.clock.advance(timedelta(hours=1))
    again = billing.settle(charge, "paid", "cmj-tx-2")
    assert ChargeOut.of(again) == ChargeOut.of(first)
    assert again.reference == "cmj-tx-1"
    assert len(billing.events()) == 1


def test_the_other_outcome_on_a_settled_charge_is_refused(billing: Billing) -> None:
    charge = billing.charge("s-1")
    billing.settle(charge, "paid", "cmj-tx-1")
    with pytest.raises(ChargeAlreadySettled) as refused:
        billing.settle(charge, "declined", reason="card_expired")
    assert (refused.value.status, refused.value.extra) == (409, {"charge_status": "paid"})
    assert billing.get(charge.id).status == "paid"
    assert billing.bills() == []


def test_another_agents_charge_is_not_found(billing: Billing) -> None:
    charge = billing.charge("s-1", agent="cmj")
    with pytest.raises(ChargeNotFound) as refused:
        billing.settle(charge, "paid", "pi-tx", agent="pi")
    assert refused.value.status == 404
    assert billing.get(charge.id).status == "requested"


def test_an_unknown_outcome_is_refused(billing: Billing) -> None:
    charge = billing.charge("s-1")
    with pytest.raises(InvalidInput, match="outcome"):
        billing.settle(charge, "maybe")


def test_declining_opens_the_plates_bill_with_the_stay(billing: Billing) -> None:
    charge = billing.charge("s-1", amount=75)
    declined = billing.settle(charge, "declined", reason="card_expired")
    assert (declined.status, declined.reason) == ("declined", "card_expired")
    (bill,) = billing.bills()
    assert (bill.vehicle_type, bill.plate, bill.amount, bill.kind, bill.reason) == (
        "car",
        "ABC-1234",
        75,
        "lot",
        "declined",
    )
    assert (bill.status, bill.charge_id, bill.source_id, bill.place) == (
        "unpaid",
        charge.id,
        "s-1",
        "TPE0001",
    )
    assert (bill.started_at, bill.ended_at, bill.issued_at) == (charge.started_at, T0, T0)
    billing.settle(charge, "declined", reason="again")
    assert len(billing.bills()) == 1
    assert [e.kind for e in billing.events()] == ["declined"]


def test_a_decline_and_its_bill_are_one_transaction(billing: Billing) -> None:
    charge = billing.charge("s-1")

    def decline_then_fail() -> None:
        with billing.db.tx() as s:
            charges.settle(s, T0, "cmj", charge.id, "declined", None, "no")
            assert len(bills.bills_of_plates(s, [("car", "ABC-1234")])) == 1
            raise RuntimeError("the caller's transaction fails later")

    with pytest.raises(RuntimeError):
        decline_then_fail()
    assert billing.get(charge.id).status == "requested"
    assert billing.bills() == []
    assert billing.events() == []


# ---------------------------------------------------------------------------------------------
# Corrections


def correct(billing: Billing, charge: Charge, amount: int, reason: str = "tariff") -> Charge:
    with billing.db.tx() as s:
        return charges.correct(
            s, billing.db.clock.now(), ADMIN, charge_id=charge.id, amount=amount, reason=reason
        )


def test_a_correction_is_a_new_negative_charge_told_to_the_agent(billing: Billing) -> None:
    charge = billing.charge("s-1", amount=75)
    billing.pay(charge)
    billing.db.clock.advance(timedelta(days=1))
    correction = correct(billing, charge, -30, "fuzzy match disputed")
    assert correction.id != charge.id
    assert (correction.amount, correction.status, correction.corrects_charge_id) == (
        -30,
        "paid",
        charge.id,
    )
    assert (correction.source, correction.source_id, correction.reason) == (
        "session",
        "s-1",
        "fuzzy match disputed",
    )
    assert billing.get(charge.id).amount == 75  # the original is never edited
    kinds = [(e.kind, e.amount, e.at) for e in billing.events()]
    assert kinds == [("paid", 75, T0), ("correction", -30, T0 + timedelta(days=1))]
    corrected = [e for e in billing.outbox("cmj") if e.event_type == "charge.corrected"]
    assert [e.payload["data"] for e in corrected] == [
        ChargeOut.of(correction).model_dump(mode="json")
    ]


def test_corrections_never_add_up_to_more_than_the_charge(billing: Billing) -> None:
    charge = billing.charge("s-1", amount=75)
    billing.pay(charge)
    correct(billing, charge, -30)
    correct(billing, charge, -45)
    with pytest.raises(CorrectionExceedsCharge) as refused:
        correct(billing, charge, -1)
    assert refused.value.extra == {"remaining": 0}


@pytest.mark.parametrize("state", ["requested", "declined", "correction"])
def test_only_a_paid_original_charge_can_be_corrected(billing: Billing, state: str) -> None:
    charge = billing.charge("s-1")
    if state == "declined":
        billing.settle(charge, "declined")
    if state == "correction":
        billing.pay(charge)
        charge = correct(billing, charge, -5)
    with pytest.raises(ChargeNotCorrectable):
        correct(billing, charge, -1)


@pytest.mark.parametrize(("amount", "reason"), [(0, "x"), (10, "x"), (-5, "  ")])
def test_a_correction_needs_a_negative_amount_and_a_reason(
    billing: Billing, amount: int, reason: str
) -> None:
    charge = billing.charge("s-1")
    billing.pay(charge)
    with pytest.raises(InvalidInput):
        correct(billing, charge, amount, reason)


def test_a_correction_is_settled_already(billing: Billing) -> None:
    charge = billing.charge("s-1")
    billing.pay(charge)
    correction = correct(billing, charge, -5)
    with pytest.raises(ChargeAlreadySettled):
        billing.settle(correction, "declined")


# ---------------------------------------------------------------------------------------------
# Declined when nobody answers for 48 hours


def expire(billing: Billing) -> charges.Expiry:
    with billing.db.tx() as s:
        return charges.expire_unsettled(s, billing.db.clock.now())


def test_a_charge_unanswered_for_48_hours_is_declined_and_billed(billing: Billing) -> None:
    charge = billing.charge("s-1", amount=75)
    billing.at(T0 + timedelta(hours=47, minutes=59))
    assert expire(billing) == charges.Expiry(0, 0)
    assert billing.get(charge.id).status == "requested"
    billing.at(T0 + timedelta(hours=52))
    assert expire(billing) == charges.Expiry(1, 1)
    declined = billing.get(charge.id)
    assert (declined.status, declined.reason, declined.settled_at) == (
        "declined",
        "unsettled",
        T0 + timedelta(hours=52),
    )
    assert [(e.kind, e.amount, e.at) for e in billing.events()] == [
        ("declined", 75, T0 + timedelta(hours=52))
    ]
    (bill,) = billing.bills()
    assert (bill.amount, bill.reason, bill.charge_id, bill.issued_at) == (
        75,
        "declined",
        charge.id,
        T0 + timedelta(hours=52),
    )
    billing.db.clock.advance(timedelta(days=1))
    assert expire(billing) == charges.Expiry(0, 0)
    assert len(billing.events()) == len(billing.bills()) == 1


def test_the_sweep_leaves_answered_and_late_paid_charges_alone(billing: Billing) -> None:
    answered = billing.charge("s-answered")
    billing.pay(answered)
    late = billing.charge("s-late")
    billing.at(T0 + timedelta(hours=50))
    billing.pay(late)  # after 48 hours, before the daily job: still welcome
    young = billing.charge("s-young")
    assert expire(billing) == charges.Expiry(0, 0)
    assert [billing.get(c.id).status for c in (answered, late, young)] == [
        "paid",
        "paid",
        "requested",
    ]


def test_the_sweep_works_in_batches_and_counts_bills_already_there(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charges, "_EXPIRY_BATCH", 7)
    made = [billing.charge(f"s-{i:02d}", amount=10 + i) for i in range(20)]
    with billing.db.tx() as s:  # the plate was billed for s-03 already (an unpaid exit, say)
        bills.open_bill_for_declined(s, T0, made[3])
    billing.at(T0 + timedelta(days=3))
    with billing.db.tx() as s:
        summary = tasks.run_daily(s, billing.db.clock.now())
    assert summary == tasks.DailySummary(declined_unsettled=20, bills_issued=19)
    assert {billing.get(c.id).status for c in made} == {"declined"}
    assert sorted(e.amount for e in billing.events()) == [10 + i for i in range(20)]
    assert len(billing.bills()) == 20
