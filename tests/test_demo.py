"""The demo world: every binding status at ``now``, transfers, a suspension, and the rules
(exclusivity) intact — built only through the services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from platebind.db import make_engine, make_session_factory
from platebind.demo import PLATE_COUNT, DatabaseNotEmpty, DemoSummary, build_demo_world
from platebind.plates import canonical_plate
from platebind.registry.models import Agent, AuditEntry, Binding, TransferCode
from platebind.webhooks.models import OutboxEvent
from tests.conftest import Db

# A Thursday, 10:00 Taipei time.
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, DemoSummary]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    return url, build_demo_world(url, now=NOW, seed=7)


@contextmanager
def _session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _overlapping_pairs(session: Session) -> int:
    """Pairs of non-cancelled bindings of one plate in one scope whose intervals overlap."""
    a, b = aliased(Binding), aliased(Binding)
    not_cancelled = [or_(x.valid_to.is_(None), x.valid_to != x.valid_from) for x in (a, b)]
    stmt = select(func.count()).where(
        a.scope_id == b.scope_id,
        a.vehicle_type == b.vehicle_type,
        a.plate == b.plate,
        a.id != b.id,
        *not_cancelled,
        a.valid_from <= b.valid_from,
        or_(a.valid_to.is_(None), b.valid_from < a.valid_to),
    )
    return session.scalar(stmt) or 0


def test_every_binding_status_is_present_in_plausible_numbers(
    demo: tuple[str, DemoSummary],
) -> None:
    _, summary = demo
    counts = summary.bindings
    assert set(counts) == {"scheduled", "active", "ending", "ended", "cancelled"}
    assert all(n >= 10 for n in counts.values()), counts
    assert counts["active"] == max(counts.values())  # most drivers simply stay bound
    assert summary.plates == PLATE_COUNT
    assert summary.as_dict()["bindings"] == counts
    assert summary.as_dict()["now"] == "2026-11-26T10:00:00+08:00"


def test_plates_are_canonical_taiwanese_plates_of_both_vehicle_types(
    demo: tuple[str, DemoSummary],
) -> None:
    url, _ = demo
    with _session(url) as session:
        plates = {
            (vt, plate)
            for vt, plate in session.execute(select(Binding.vehicle_type, Binding.plate))
        }
    assert {vehicle_type for vehicle_type, _ in plates} == {"car", "motorcycle"}
    assert all(canonical_plate(plate, vt) == plate for vt, plate in plates)


def test_transfers_queued_binds_and_a_suspension_are_in_the_history(
    demo: tuple[str, DemoSummary],
) -> None:
    url, summary = demo
    with _session(url) as session:
        used_codes = session.scalar(select(func.count()).where(TransferCode.used_at.is_not(None)))
        by_reason = select(Binding.end_reason, func.count()).group_by(Binding.end_reason)
        reasons = dict(session.execute(by_reason).all())
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == "easywallet"))
        )
        statuses = set(session.scalars(select(Agent.status)))
        old, new = aliased(Binding), aliased(Binding)
        queued = session.scalar(
            select(func.count()).where(
                new.scope_id == old.scope_id,
                new.vehicle_type == old.vehicle_type,
                new.plate == old.plate,
                new.agent_id != old.agent_id,
                new.valid_from == old.valid_to,
                old.end_reason == "unbound",
                new.requested_at < old.valid_to,  # accepted while the old one was ending
            )
        )
    assert summary.transfers >= 10
    assert used_codes == reasons["transferred"] == summary.transfers
    assert reasons["agent_suspended"] >= 1
    assert reasons["unbound"] >= 10
    assert {"agent.suspended", "agent.active"} <= actions
    assert statuses == {"active"}  # all four agents are active again at the end
    assert (queued or 0) >= 5


def test_the_outbox_has_what_the_nightly_cycles_published(
    demo: tuple[str, DemoSummary],
) -> None:
    url, summary = demo
    with _session(url) as session:
        by_type = select(OutboxEvent.event_type, func.count()).group_by(OutboxEvent.event_type)
        events = dict(session.execute(by_type).all())
    for event in (
        "binding.scheduled",
        "binding.activated",
        "binding.ended",
        "binding.cancelled",
        "binding.transfer_out",
    ):
        assert events.get(event, 0) >= 1, event
    assert sum(events.values()) == summary.outbox_events


def test_no_two_live_intervals_of_one_plate_overlap(demo: tuple[str, DemoSummary]) -> None:
    url, _ = demo
    with _session(url) as session:
        assert _overlapping_pairs(session) == 0


def test_the_same_seed_builds_the_same_world_and_replaces_the_file(
    demo: tuple[str, DemoSummary],
) -> None:
    url, first = demo
    again = build_demo_world(url, now=NOW, seed=7)  # over the existing file
    assert again.bindings == first.bindings
    assert (again.transfers, again.changes, again.outbox_events, again.audit_entries) == (
        first.transfers,
        first.changes,
        first.outbox_events,
        first.audit_entries,
    )
    assert again.agent_keys.keys() == first.agent_keys.keys()


def test_another_seed_builds_another_world_with_every_status(
    demo: tuple[str, DemoSummary], tmp_path: Path
) -> None:
    _, first = demo
    other = build_demo_world(f"sqlite:///{tmp_path / 'other.db'}", now=NOW, seed=8)
    assert other.bindings != first.bindings
    assert all(n >= 10 for n in other.bindings.values()), other.bindings


@pytest.mark.postgres
def test_postgresql_gets_the_same_world_and_a_second_build_is_refused(
    pg_db: Db,
    demo: tuple[str, DemoSummary],
) -> None:
    _, on_sqlite = demo
    on_postgres = build_demo_world(pg_db.url, now=NOW, seed=7)
    assert on_postgres.bindings == on_sqlite.bindings
    with pg_db.tx() as session:
        assert _overlapping_pairs(session) == 0
    with pytest.raises(DatabaseNotEmpty):
        build_demo_world(pg_db.url, now=NOW, seed=7)


def test_the_demo_member_can_log_in_and_owns_plates_in_every_situation(
    tmp_path: Path,
) -> None:
    from platebind.portal import accounts
    from platebind.portal.overview import plate_overview
    from platebind.portal.service import my_plates

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    summary = build_demo_world(url, now=NOW, seed=7, id_hash_key="d" + "emo-key-" * 5)
    assert summary.portal is not None
    assert summary.as_dict()["portal"]["email"] == "demo@platebind.example"
    with _session(url) as session:
        member = accounts.authenticate(session, summary.portal["email"], summary.portal["password"])
        assert member is not None
        listed = my_plates(session, member)
        facts = [
            plate_overview(
                session,
                p.vehicle_type,
                p.plate,
                NOW,
                owned=accounts.owns(session, member, p.vehicle_type, p.plate),
            )
            for p in listed
        ]
    situations = [f.scopes[0].situation.value for f in facts if f.scopes[0].scope_id == "tpe-lots"]
    assert len(listed) == 4
    assert [f.owned for f in facts] == [True, True, True, False]
    assert situations[0] == "held"
    assert situations[3] == "held"
    assert situations[1] in {"ending", "moving"}
    assert facts[2].vehicle_type == "motorcycle"


def test_the_demo_day_of_traffic_charges_agents_and_bills_the_members_car(
    tmp_path: Path,
) -> None:
    from platebind.billing.models import Bill, Charge

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    summary = build_demo_world(url, now=NOW, seed=7, id_hash_key="t" + "raffic-" * 6, traffic=True)
    assert summary.traffic is not None
    assert summary.portal is not None
    assert summary.traffic["events"] > 500
    assert summary.traffic["charges"] > 50
    (guest_type, guest_plate), *_ = summary.portal["guests"]
    with _session(url) as session:
        charged = session.scalars(select(Charge).where(Charge.plate == guest_plate)).all()
        bills = session.scalars(select(Bill).where(Bill.plate == guest_plate)).all()
    assert [c.status for c in charged] == ["declined"]
    assert [(b.vehicle_type, b.status, b.reason) for b in bills] == [
        (guest_type, "unpaid", "declined")
    ]
