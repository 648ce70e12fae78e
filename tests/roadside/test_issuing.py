"""Issuing roadside bills on an injected clock: amounts, due dates, one motorcycle bill a day,
auto-pay by the agent bound at issue time, idempotency by bill number."""

from __future__ import annotations

import pytest

from platebind.billing import bills
from platebind.errors import DomainError
from platebind.roadside import service
from tests.conftest import ADMIN
from tests.registry.test_cutover import tpe
from tests.roadside.conftest import OTHER_SEGMENT, SCOPE, Roadside


def refused(roadside: Roadside, *args: object, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        roadside.issue(*args, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_car_pays_its_segment_tariff_and_is_due_seven_whole_days_later(
    roadside: Roadside,
) -> None:
    roadside.at("2026-11-26 15:30")
    answer = roadside.issue(
        "B-1", started="2026-11-26 10:00", ended="2026-11-26 11:10", issued="2026-11-26 15:30"
    )
    # Three started half hours at 15 TWD; due at the end of the 7th day after the 26th.
    assert (answer["status"], answer["amount"], answer["surcharge"]) == ("unpaid", 45, 0)
    assert answer["due_at"] == "2026-12-04T00:00:00+08:00"
    assert (answer["place"], answer["auto_pay"]) == ("忠孝東路四段", None)
    bill = roadside.bill("B-1")
    assert (bill.kind, bill.reason, bill.source, bill.plate) == (
        "roadside",
        "issued",
        "roadside_bill",
        "ABC-1234",
    )
    assert bill.due_at == tpe("2026-12-04 00:00")
    assert roadside.row("B-1").issuer == "warden:w-0017"


def test_given_amount_and_due_date_are_kept(roadside: Roadside) -> None:
    roadside.at("2026-11-27 12:00")
    answer = roadside.issue("B-2", amount=60, due="2026-12-31 00:00")
    assert (answer["amount"], answer["due_at"]) == (60, "2026-12-31T00:00:00+08:00")


def test_a_motorcycles_second_bill_of_the_day_anywhere_in_the_city_is_void(
    roadside: Roadside,
) -> None:
    roadside.at("2026-11-27 20:00")
    first = roadside.issue("M-1", "123-ABC", "motorcycle", started="2026-11-27 09:00", ended=None)
    second = roadside.issue(
        "M-2",
        "123-abc",
        "motorcycle",
        started="2026-11-27 23:59",
        ended=None,
        segment=OTHER_SEGMENT,
    )
    assert (first["status"], first["amount"]) == ("unpaid", 20)
    assert second["status"] == "void"
    assert second["void_reason"] == "second motorcycle bill of 123-ABC on 2026-11-27"
    bill = roadside.bill("M-2")
    assert (bill.status, bill.voided_at) == ("void", tpe("2026-11-27 20:00"))
    # A car with the same characters is another plate.
    assert roadside.issue("C-1", "ABC-1234", started="2026-11-27 09:00")["status"] == "unpaid"


def test_crossing_the_day_boundary_bills_again(roadside: Roadside) -> None:
    with roadside.db.tx() as s:
        service.set_rules(s, roadside.db.clock.now(), ADMIN, SCOPE, {"day_boundary": "02:00"})
    roadside.at("2026-11-28 12:00")
    issued = "2026-11-28 03:00"
    assert roadside.moto("M-1", started="2026-11-27 21:00", issued=issued)["status"] == "unpaid"
    # 01:59 still belongs to the 27th's billing day; 02:00 starts the 28th's.
    assert roadside.moto("M-2", started="2026-11-28 01:59", issued=issued)["status"] == "void"
    assert roadside.moto("M-3", started="2026-11-28 02:00", issued=issued)["status"] == "unpaid"


def test_every_further_motorcycle_bill_of_the_day_is_void(roadside: Roadside) -> None:
    roadside.at("2026-11-27 20:00")
    roadside.moto("M-1", started="2026-11-27 09:00")
    roadside.moto("M-2", started="2026-11-27 10:00")
    assert roadside.moto("M-3", started="2026-11-27 11:00")["status"] == "void"
    assert [b.status for b in roadside.bills()] == ["unpaid", "void", "void"]


def test_a_bill_cancelled_by_the_authority_does_not_void_the_next(roadside: Roadside) -> None:
    roadside.at("2026-11-27 20:00")
    roadside.moto("M-1", started="2026-11-27 09:00")
    with roadside.db.tx() as s:
        bills.void_bill(s, roadside.db.clock.now(), ADMIN, roadside.bill("M-1").id, reason="error")
    assert roadside.moto("M-2", started="2026-11-27 10:00")["status"] == "unpaid"


def test_a_plate_bound_at_issue_time_is_sent_to_its_agent(roadside: Roadside) -> None:
    roadside.bind("jko", "ABC-1234")  # effective 2026-11-27 04:00
    roadside.at("2026-11-27 11:15")
    answer = roadside.issue("B-1")
    (charge,) = roadside.charges()
    assert answer["auto_pay"] == {"agent": "jko", "charge_id": str(charge.id)}
    assert (charge.agent_id, charge.scope_id, charge.amount, charge.status) == (
        "jko",
        SCOPE,
        45,
        "requested",
    )
    assert (charge.source, charge.source_id, charge.place) == (
        "roadside_bill",
        "B-1",
        "忠孝東路四段",
    )
    assert roadside.bill("B-1").charge_id == charge.id
    assert roadside.row("B-1").agent_id == "jko"
    told = [
        (e.event_type, e.object_id) for e in roadside.outbox("jko") if "binding" not in e.event_type
    ]
    assert told == [("charge.requested", str(charge.id)), ("bill.issued", "B-1")]
    issued = roadside.outbox("jko", "bill.issued")[0].payload
    assert issued["data"]["bill_no"] == "B-1"
    assert issued["data"]["amount"] == 45


def test_the_agent_is_the_one_bound_when_the_bill_was_issued(roadside: Roadside) -> None:
    roadside.bind("jko", "ABC-1234")  # effective 2026-11-27 04:00
    roadside.at("2026-11-27 12:00")
    # Issued at 02:00, before the binding took effect: the driver's to pay.
    answer = roadside.issue("B-1", started="2026-11-27 01:00", ended="2026-11-27 02:00")
    assert answer["auto_pay"] is None
    assert roadside.charges() == []


def test_an_overdue_bill_is_never_auto_paid(roadside: Roadside) -> None:
    roadside.bind("jko", "ABC-1234")
    roadside.at("2026-12-05 09:00")  # the bill of the 27th was due on 2026-12-05 00:00
    answer = roadside.issue("B-1")
    assert answer["due_at"] == "2026-12-05T00:00:00+08:00"
    assert answer["auto_pay"] is None
    assert answer["status"] == "unpaid"
    assert roadside.charges() == []
    assert roadside.outbox("jko", "bill.") == []


def test_a_void_or_free_bill_is_not_sent_and_a_suspended_agent_is_not_asked(
    roadside: Roadside,
) -> None:
    from platebind.registry import agents

    roadside.bind("jko", "123-ABC", "motorcycle")
    roadside.bind("pi", "ABC-1234")
    roadside.at("2026-11-27 12:00")
    assert roadside.moto("M-1")["auto_pay"] is not None
    assert roadside.moto("M-2")["auto_pay"] is None  # void
    free = roadside.issue("B-0", amount=0)
    assert (free["status"], free["auto_pay"]) == ("paid", None)
    with roadside.db.tx() as s:
        agents.set_agent_status(s, roadside.db.clock, ADMIN, "pi", "suspended")
    assert roadside.issue("B-1")["auto_pay"] is None
    assert len(roadside.charges()) == 1


def test_the_same_bill_again_gets_its_first_answer(roadside: Roadside) -> None:
    roadside.bind("jko", "ABC-1234")
    roadside.at("2026-11-27 12:00")
    first = roadside.issue("B-1", "ABC-1234")
    roadside.at("2026-11-27 13:00")
    # The plate as another handheld spells it: the same bill.
    assert roadside.issue("B-1", "abc 1234") == first
    assert len(roadside.bills()) == len(roadside.charges()) == 1


def test_another_bill_under_the_same_number_is_refused(roadside: Roadside) -> None:
    roadside.at("2026-11-27 12:00")
    roadside.issue("B-1", "ABC-1234")
    error = refused(roadside, "B-1", "XYZ-5678")
    assert (error.code, error.status) == ("bill_no_reused", 409)
    assert [b.plate for b in roadside.bills()] == ["ABC-1234"]


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"plate": "not a plate"}, "invalid_plate", None),
        ({"vehicle_type": "bus"}, "roadside_bill_invalid", "vehicle_type"),
        ({"segment": "NOWHERE"}, "roadside_bill_invalid", "segment"),
        ({"ended": None}, "roadside_bill_invalid", "ended_at"),
        ({"ended": "2026-11-27 09:00"}, "roadside_bill_invalid", "ended_at"),
        ({"issued": "2026-11-27 09:00"}, "roadside_bill_invalid", "issued_at"),
        ({"due": "2026-11-27 11:00"}, "roadside_bill_invalid", "due_at"),
        ({"bill_no": "no spaces"}, "roadside_bill_invalid", "bill_no"),
    ],
)
def test_a_bill_that_cannot_be_issued_is_refused_and_nothing_is_written(
    roadside: Roadside, kwargs: dict[str, object], code: str, field: str | None
) -> None:
    roadside.at("2026-11-27 12:00")
    kwargs = dict(kwargs)  # shared by both databases' runs
    bill_no = str(kwargs.pop("bill_no", "B-1"))
    error = refused(roadside, bill_no, **kwargs)
    assert (error.code, error.status) == (code, 422)
    assert error.extra.get("field") == field
    assert roadside.bills() == []
