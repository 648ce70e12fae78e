"""Gate decisions through the service, on real SQLite and PostgreSQL: each rule, idempotent
repeats, sessions that keep their agent, charges, bills and the session webhooks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from platebind.billing.models import Bill, Charge
from platebind.errors import DomainError
from platebind.parking import gates, sessions
from platebind.parking.models import LprEvent, ParkingSession
from platebind.parking.schemas_gate import CloseOutcome
from platebind.registry import agents, transfers
from platebind.registry import service as registry
from platebind.registry.audit import Actor
from platebind.webhooks.models import OutboxEvent
from tests.conftest import ADMIN, Db
from tests.parking.gate_world import (
    LOT,
    OTHER_LOT,
    UNREADABLE,
    add_lot,
    bind,
    build_gate_world,
    count,
    counts,
    event,
    post,
    session_row,
    tpe,
)

IN = tpe("2026-11-27 08:00")
# 2 h 10 min later: five started half hours at 15 TWD (30 TWD an hour) = 75 TWD.
OUT = tpe("2026-11-27 10:10")
FEE = 75


@pytest.fixture
def world(db: Db) -> Db:
    build_gate_world(db)
    bind(db, "cmj", "ABC-1234")  # effective at 2026-11-27 04:00
    return db


def charges(db: Db) -> list[Charge]:
    with db.tx() as s:
        return list(s.scalars(select(Charge).order_by(Charge.requested_at)))


def outbox(db: Db, event_type: str) -> list[OutboxEvent]:
    with db.tx() as s:
        stmt = select(OutboxEvent).where(OutboxEvent.event_type == event_type)
        return list(s.scalars(stmt.order_by(OutboxEvent.id)))


def test_bound_plate_enters_card_free_and_exits_charged_to_its_agent(world: Db) -> None:
    entry = post(world, event("e1", "entry", "abc 1234", IN))
    assert entry == {
        "action": "open",
        "session_id": entry["session_id"],
        "amount": None,
        "agent": "cmj",
        "flags": [],
    }
    inside = session_row(world, entry["session_id"])
    assert (inside.status, inside.card_free, inside.agent_id, inside.plate) == (
        "open",
        True,
        "cmj",
        "ABC-1234",
    )
    (entered,) = outbox(world, "session.entered")
    assert entered.agent_id == "cmj"
    assert entered.payload["data"]["id"] == entry["session_id"]
    assert entered.payload["data"]["status"] == "open"

    exit_ = post(world, event("x1", "exit", "ABC-1234", OUT))
    assert exit_ == {
        "action": "open",
        "session_id": entry["session_id"],
        "amount": FEE,
        "agent": "cmj",
        "flags": [],
    }
    (charge,) = charges(world)
    assert (charge.agent_id, charge.amount, charge.status, charge.match) == (
        "cmj",
        FEE,
        "requested",
        "exact",
    )
    assert (charge.source, charge.source_id) == ("session", entry["session_id"])
    assert (charge.started_at, charge.ended_at) == (IN, OUT)
    left = session_row(world, entry["session_id"])
    assert (left.status, left.outcome, left.charge_id, left.amount) == (
        "closed",
        "charged",
        charge.id,
        FEE,
    )
    (exited,) = outbox(world, "session.exited")
    assert exited.payload["data"]["charge_id"] == str(charge.id)
    assert len(outbox(world, "charge.requested")) == 1


def test_unbound_plate_gets_a_ticket_and_pays_at_the_exit(world: Db) -> None:
    entry = post(world, event("e1", "entry", "XYZ-5678", IN))
    assert (entry["action"], entry["agent"]) == ("ticket", None)
    exit_ = post(world, event("x1", "exit", "XYZ-5678", OUT))
    assert (exit_["action"], exit_["amount"], exit_["session_id"]) == (
        "pay",
        FEE,
        entry["session_id"],
    )
    assert session_row(world, entry["session_id"]).status == "exiting"
    assert charges(world) == []
    assert outbox(world, "session.entered") == []


def test_a_plate_bound_after_the_entry_time_is_not_card_free(world: Db) -> None:
    # Bound now (the 26th, 10:00), effective at the 27th 04:00: an entry at 03:59 is a ticket.
    entry = post(world, event("e1", "entry", "ABC-1234", tpe("2026-11-27 03:59")))
    assert entry["action"] == "ticket"


def test_a_suspended_agents_plate_enters_with_a_ticket(world: Db) -> None:
    with world.tx() as s:
        agents.set_agent_status(s, world.clock, ADMIN, "cmj", "suspended")
    entry = post(world, event("e1", "entry", "ABC-1234", IN))
    assert (entry["action"], entry["agent"], entry["flags"]) == (
        "ticket",
        None,
        ["agent_suspended"],
    )
    assert not session_row(world, entry["session_id"]).card_free


def test_an_invalid_plate_read_calls_the_attendant(world: Db) -> None:
    before = counts(world)
    entry = post(world, event("e1", "entry", "AB-12", IN))
    assert entry == {
        "action": "attendant",
        "session_id": None,
        "amount": None,
        "agent": None,
        "flags": ["invalid_plate"],
    }
    assert counts(world) == {**before, "lpr_events": before["lpr_events"] + 1}


def test_low_confidence_calls_the_attendant_at_entry_and_exit(world: Db) -> None:
    doubtful = post(world, event("e0", "entry", "ABC-1234", IN, confidence=0.5))
    assert (doubtful["action"], doubtful["session_id"], doubtful["flags"]) == (
        "attendant",
        None,
        ["low_confidence"],
    )
    entry = post(world, event("e1", "entry", "ABC-1234", IN + timedelta(minutes=1)))
    exit_ = post(world, event("x1", "exit", "ABC-1234", OUT, confidence=0.79))
    assert (exit_["action"], exit_["session_id"], exit_["flags"]) == (
        "attendant",
        None,
        ["low_confidence"],
    )
    assert session_row(world, entry["session_id"]).status == "open"
    assert charges(world) == []


def test_a_repeated_event_gets_its_first_answer_byte_for_byte_and_changes_nothing(
    world: Db,
) -> None:
    ev = event("e1", "entry", "ABC-1234", IN)
    world.clock.set(IN)
    with world.tx() as s:
        first = gates.post_event(s, world.clock, LOT, ev)
    before = counts(world)
    world.clock.advance(timedelta(hours=3))  # a late repeat: still the first answer
    # Re-sent later, marked as replayed, the plate spelled another way: the same read.
    resent = ev.model_copy(update={"replayed": True, "plate": "abc 1234"})
    with world.tx() as s:
        again = gates.post_event(s, world.clock, LOT, resent)
    assert (again.body, again.replayed, first.replayed) == (first.body, True, False)
    assert counts(world) == before
    exit_ = event("x1", "exit", "ABC-1234", OUT)
    answers = {post(world, exit_)["amount"], post(world, exit_)["amount"]}
    assert answers == {FEE}
    assert len(charges(world)) == 1


def test_an_event_id_reused_for_another_read_is_refused(world: Db) -> None:
    post(world, event("e1", "entry", "ABC-1234", IN))
    before = counts(world)
    with pytest.raises(DomainError) as refused:
        post(world, event("e1", "entry", "XYZ-5678", IN))
    assert refused.value.code == "event_id_reused"
    assert counts(world) == before
    # The same id at another lot is another event.
    assert post(world, event("e1", "entry", "ABC-1234", IN), OTHER_LOT)["action"] == "open"


def test_a_plate_transferred_while_parked_is_charged_to_the_agent_bound_at_entry(
    world: Db,
) -> None:
    entry = post(world, event("e1", "entry", "ABC-1234", IN))
    with world.tx() as s:
        code = transfers.issue(s, world.clock, ADMIN, "tpe-lots", "car", "ABC-1234").code
        moved = registry.bind(
            s,
            world.clock,
            Actor("agent", "pi"),
            agent_id="pi",
            scope_id="tpe-lots",
            vehicle_type="car",
            plate="ABC-1234",
            transfer_code=code,
        )
    # The transfer takes effect at the next cut-over (28th 04:00); the car leaves after it.
    leaves = tpe("2026-11-28 09:00")
    assert moved.binding.valid_from < leaves
    exit_ = post(world, event("x1", "exit", "ABC-1234", leaves))
    assert exit_["agent"] == "cmj"
    (charge,) = charges(world)
    assert (charge.agent_id, charge.source_id) == ("cmj", entry["session_id"])
    # A new stay after the transfer is pi's.
    assert (
        post(world, event("e2", "entry", "ABC-1234", leaves + timedelta(hours=1)))["agent"] == "pi"
    )


def test_a_plate_unbound_while_parked_is_still_charged_to_its_entry_agent(world: Db) -> None:
    post(world, event("e1", "entry", "ABC-1234", IN))
    with world.tx() as s:
        registry.unbind_plate(
            s, world.clock, Actor("agent", "cmj"), agent_id="cmj", scope_id="tpe-lots",
            vehicle_type="car", plate="ABC-1234",
        )  # fmt: skip
    exit_ = post(world, event("x1", "exit", "ABC-1234", tpe("2026-11-29 08:00")))
    assert (exit_["action"], exit_["agent"]) == ("open", "cmj")
    assert [c.agent_id for c in charges(world)] == ["cmj"]


def test_a_second_entry_of_a_plate_inside_flags_both_and_closes_nothing(world: Db) -> None:
    first = post(world, event("e1", "entry", "ABC-1234", IN))
    second = post(world, event("e2", "entry", "ABC-1234", IN + timedelta(hours=1)))
    assert second["action"] == "open"
    assert second["flags"] == ["duplicate_entry"]
    assert second["session_id"] != first["session_id"]
    older, newer = session_row(world, first["session_id"]), session_row(world, second["session_id"])
    assert (older.status, older.flags) == ("open", ["duplicate_entry"])
    assert (newer.status, newer.flags) == ("open", ["duplicate_entry"])
    # The exit closes the newer stay (the older one's exit was missed); the older stays open.
    exit_ = post(world, event("x1", "exit", "ABC-1234", OUT))
    assert exit_["session_id"] == second["session_id"]
    assert session_row(world, first["session_id"]).status == "open"


def test_an_exit_misread_with_lpr_confusions_finds_its_session(world: Db) -> None:
    entry = post(world, event("e1", "entry", "ABC-1234", IN))
    exit_ = post(world, event("x1", "exit", "A8C1Z34", OUT))
    assert exit_ == {
        "action": "open",
        "session_id": entry["session_id"],
        "amount": FEE,
        "agent": "cmj",
        "flags": ["invalid_plate", "fuzzy_match"],
    }
    (charge,) = charges(world)
    assert (charge.match, charge.raw_plate, charge.plate) == ("fuzzy", "A8C1Z34", "ABC-1234")
    row = session_row(world, entry["session_id"])
    assert (row.match, row.exit_read) == ("fuzzy", "A8C1Z34")


def test_an_ambiguous_or_unmatched_exit_calls_the_attendant(world: Db) -> None:
    post(world, event("e1", "entry", "ABD-1234", IN))
    post(world, event("e2", "entry", "ABQ-1234", IN))
    ambiguous = post(world, event("x1", "exit", "AB0-1234", OUT))
    assert (ambiguous["action"], ambiguous["flags"]) == (
        "attendant",
        ["invalid_plate", "ambiguous_match"],
    )
    nobody = post(world, event("x2", "exit", "KLM-7777", OUT))
    assert (nobody["action"], nobody["flags"]) == ("attendant", ["no_open_session"])


def test_an_exit_without_a_readable_tariff_calls_the_attendant_who_closes_it(db: Db) -> None:
    build_gate_world(db, {LOT: UNREADABLE})
    bind(db, "cmj", "ABC-1234")
    entry = post(db, event("e1", "entry", "ABC-1234", IN))
    exit_ = post(db, event("x1", "exit", "ABC-1234", OUT))
    assert (exit_["action"], exit_["amount"], exit_["flags"]) == (
        "attendant",
        None,
        ["fee_unknown"],
    )
    assert session_row(db, entry["session_id"]).status == "exiting"
    assert charges(db) == []
    (exited,) = outbox(db, "session.exited")
    assert exited.payload["data"]["status"] == "exiting"
    with db.tx() as s:
        closed = sessions.close_session(
            s, db.clock, Actor("lot", LOT), lot_id=LOT,
            session_id=uuid.UUID(entry["session_id"]), outcome="unpaid", amount=60,
        )  # fmt: skip
        assert (closed.status, closed.outcome, closed.amount) == ("closed", "unpaid", 60)
    with db.tx() as s:
        (bill,) = s.scalars(select(Bill))
        assert (bill.plate, bill.amount, bill.reason, bill.kind, bill.status) == (
            "ABC-1234",
            60,
            "unpaid_exit",
            "lot",
            "unpaid",
        )
        assert bill.source_id == entry["session_id"]
    assert len(outbox(db, "session.exited")) == 1


def test_closing_again_the_same_way_is_idempotent_and_otherwise_refused(world: Db) -> None:
    entry = post(world, event("e1", "entry", "XYZ-5678", IN))
    post(world, event("x1", "exit", "XYZ-5678", OUT))

    def close(outcome: CloseOutcome, amount: int) -> ParkingSession:
        with world.tx() as s:
            return sessions.close_session(
                s, world.clock, Actor("lot", LOT), lot_id=LOT,
                session_id=uuid.UUID(entry["session_id"]), outcome=outcome, amount=amount,
            )  # fmt: skip

    assert close("paid_at_station", FEE).outcome == "paid_at_station"
    assert close("paid_at_station", FEE).closed_at == world.clock.now()
    with pytest.raises(DomainError) as refused:
        close("unpaid", FEE)
    assert refused.value.code == "session_closed"
    with pytest.raises(DomainError) as elsewhere, world.tx() as s:
        sessions.close_session(
            s, world.clock, Actor("lot", OTHER_LOT), lot_id=OTHER_LOT,
            session_id=uuid.UUID(entry["session_id"]), outcome="unpaid", amount=1,
        )  # fmt: skip
    assert elsewhere.value.code == "session_not_found"
    assert count(world, Bill) == 0


def test_late_events_are_flagged_unless_replayed(world: Db) -> None:
    ev = event("e1", "entry", "ABC-1234", IN)
    world.clock.set(IN + timedelta(minutes=6))
    with world.tx() as s:
        late = gates.post_event(s, world.clock, LOT, ev)
        replayed = gates.post_event(
            s, world.clock, LOT, event("e2", "entry", "XYZ-5678", IN, replayed=True)
        )
    assert b'"flags":["late"]' in late.body
    assert b'"flags":[]' in replayed.body


def test_an_offline_gate_is_billed_as_it_decided(world: Db) -> None:
    # Offline: the gate let a ticket holder out without payment; the plate owes the fee.
    post(world, event("e1", "entry", "XYZ-5678", IN, decided_action="ticket", replayed=True))
    world.clock.set(OUT + timedelta(days=1))
    with world.tx() as s:
        answer = gates.post_event(
            s, world.clock, LOT, event("x1", "exit", "XYZ-5678", OUT, decided_action="open")
        )
    assert answer.body.startswith(b'{"action":"open",')
    assert b'"amount":75' in answer.body
    assert b'"late","gate_decided","gate_decision_differs","left_without_paying"' in answer.body
    with world.tx() as s:
        (bill,) = s.scalars(select(Bill))
        assert (bill.plate, bill.amount, bill.reason) == ("XYZ-5678", FEE, "unpaid_exit")
    # Offline card-free: the agent is the one bound at the event's time, charged as usual.
    entry = post(world, event("e2", "entry", "ABC-1234", IN, decided_action="open"))
    assert (entry["action"], entry["agent"]) == ("open", "cmj")
    post(world, event("x2", "exit", "ABC-1234", OUT, decided_action="open"))
    assert [(c.agent_id, c.amount) for c in charges(world)] == [("cmj", FEE)]


def test_a_motorcycle_lot_without_motorcycle_fares_calls_the_attendant(world: Db) -> None:
    bind(world, "pi", "MKV-1234", "motorcycle")
    entry = post(world, event("e1", "entry", "mkv1234", IN, vehicle_type="heavy_motorcycle"))
    assert (entry["action"], entry["agent"]) == ("open", "pi")
    exit_ = post(world, event("x1", "exit", "MKV-1234", OUT, vehicle_type="heavy_motorcycle"))
    assert (exit_["action"], exit_["flags"]) == ("attendant", ["fee_unknown"])


def test_events_and_sessions_are_kept(world: Db) -> None:
    entry = post(world, event("e1", "entry", "ABC-1234", IN, image_ref="s3://lot/e1.jpg"))
    post(world, event("x1", "exit", "ABC-1234", OUT))
    with world.tx() as s:
        rows = list(s.scalars(select(LprEvent).order_by(LprEvent.at)))
    assert [(r.event_id, r.action, str(r.session_id)) for r in rows] == [
        ("e1", "open", entry["session_id"]),
        ("x1", "open", entry["session_id"]),
    ]
    assert rows[0].image_ref == "s3://lot/e1.jpg"
    assert rows[0].received_at == IN
    assert count(world, ParkingSession) == 1


def test_an_unknown_lot_is_refused(world: Db) -> None:
    with pytest.raises(DomainError) as refused:
        post(world, event("e1", "entry", "ABC-1234", IN), "TPE0000")
    assert refused.value.code == "lot_not_found"


def test_a_lot_may_have_its_own_confidence_threshold(db: Db) -> None:
    build_gate_world(db)
    with db.tx() as s:
        add_lot(s, db.clock.now(), "TPE9003", threshold=0.5)
    answer = post(db, event("e1", "entry", "XYZ-5678", IN, confidence=0.6), "TPE9003")
    assert answer["action"] == "ticket"
    assert post(db, event("e2", "entry", "XYZ-5679", IN, confidence=0.6))["action"] == ("attendant")
