"""Binding rules through the service, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from platebind.errors import DomainError
from platebind.registry import agents, feed, queries, service, transfers
from platebind.registry.audit import Actor
from platebind.registry.models import AuditEntry, Binding, TransferCodeFailure
from platebind.registry.rules import BindingStatus, binding_status
from platebind.webhooks.models import OutboxEvent
from tests.conftest import ADMIN, Db
from tests.registry.test_cutover import tpe
from tests.registry.world import build_world

PLATE = "ABC-1234"


@pytest.fixture
def world(db: Db) -> Db:
    build_world(db)
    db.clock.set(tpe("2026-11-26 10:00"))
    return db


def bind(
    db: Db,
    agent: str,
    plate: str = PLATE,
    scope: str = "tpe-lots",
    code: str | None = None,
    vehicle_type: str = "car",
) -> service.BindResult:
    with db.tx() as s:
        return service.bind(
            s,
            db.clock,
            Actor("agent", agent, "req-1"),
            agent_id=agent,
            scope_id=scope,
            vehicle_type=vehicle_type,
            plate=plate,
            transfer_code=code,
        )


def unbind(db: Db, agent: str, plate: str = PLATE, scope: str = "tpe-lots") -> service.EndResult:
    with db.tx() as s:
        return service.unbind_plate(
            s,
            db.clock,
            Actor("agent", agent),
            agent_id=agent,
            scope_id=scope,
            vehicle_type="car",
            plate=plate,
        )


def refused(db: Db, agent: str, **kwargs: str) -> DomainError:
    with pytest.raises(DomainError) as info:
        bind(db, agent, **kwargs)
    return info.value


def issue_code(db: Db, plate: str = PLATE, scope: str = "tpe-lots") -> str:
    with db.tx() as s:
        return transfers.issue(s, db.clock, Actor("citizen", "owner"), scope, "car", plate).code


def holder(db: Db, at: str, plate: str = PLATE) -> str | None:
    with db.tx() as s:
        found = queries.lookup(s, "tpe-lots", "car", plate, tpe(at)).holder
        return None if found is None else found.agent_id


def rows(db: Db) -> list[Binding]:
    with db.tx() as s:
        return list(s.scalars(select(Binding).order_by(Binding.valid_from, Binding.created_at)))


def events(db: Db) -> list[tuple[str, str]]:
    with db.tx() as s:
        found = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [(e.event_type, e.agent_id) for e in found]


def test_bind_is_scheduled_for_the_next_cutover_and_says_when(world: Db) -> None:
    result = bind(world, "cmj", plate="abc 1234")
    assert result.created
    assert result.effective_at == tpe("2026-11-27 04:00")
    assert result.binding.plate == PLATE
    assert binding_status(result.binding.valid_from, None, world.clock.now()) == "scheduled"
    assert holder(world, "2026-11-27 03:59") is None
    assert holder(world, "2026-11-27 04:00") == "cmj"
    assert events(world) == [("binding.scheduled", "cmj")]


def test_same_agent_binding_again_gets_its_binding_back(world: Db) -> None:
    first = bind(world, "cmj")
    world.clock.advance(timedelta(days=2))
    again = bind(world, "cmj")
    assert not again.created
    assert again.binding.id == first.binding.id
    assert len(rows(world)) == 1


def test_bind_held_elsewhere_is_refused_and_changes_nothing(world: Db) -> None:
    bind(world, "cmj")
    error = refused(world, "pi")
    assert error.code == "plate_bound_elsewhere"
    assert error.status == 409
    assert error.extra["transfer_possible"] is True
    assert "cmj" not in error.detail  # agents are not told which competitor holds it
    assert len(rows(world)) == 1
    assert len(events(world)) == 1


def test_same_characters_as_car_and_motorcycle_are_different_plates(world: Db) -> None:
    bind(world, "cmj")
    other = bind(world, "pi", vehicle_type="motorcycle")
    assert other.created
    heavy = bind(world, "pi", vehicle_type="heavy_motorcycle")
    assert heavy.binding.id == other.binding.id  # a heavy motorcycle binds as a motorcycle


def test_scopes_are_independent(world: Db) -> None:
    bind(world, "cmj")
    assert refused(world, "pi").code == "plate_bound_elsewhere"
    assert bind(world, "pi", scope="tpe-roadside").created


def test_unbind_of_active_binding_ends_at_next_cutover(world: Db) -> None:
    bind(world, "cmj")
    world.clock.set(tpe("2026-11-28 23:59"))
    ended = unbind(world, "cmj")
    assert ended.effective_at == tpe("2026-11-29 04:00")
    assert ended.binding.end_reason == "unbound"
    assert (
        binding_status(ended.binding.valid_from, ended.binding.valid_to, world.clock.now())
        is BindingStatus.ENDING
    )
    assert holder(world, "2026-11-29 03:59") == "cmj"
    assert holder(world, "2026-11-29 04:00") is None
    again = unbind(world, "cmj")  # idempotent
    assert not again.changed
    assert again.effective_at == ended.effective_at


def test_unbind_before_start_cancels(world: Db) -> None:
    bind(world, "cmj")
    ended = unbind(world, "cmj")
    assert ended.binding.valid_to == ended.binding.valid_from
    assert (
        binding_status(ended.binding.valid_from, ended.binding.valid_to, world.clock.now())
        is BindingStatus.CANCELLED
    )
    assert ("binding.cancelled", "cmj") in events(world)
    assert bind(world, "pi").created  # the plate is free again


def test_bind_while_holder_is_ending_is_queued_at_its_end(world: Db) -> None:
    bind(world, "cmj")
    world.clock.set(tpe("2026-11-28 23:00"))
    ending = unbind(world, "cmj")
    world.clock.set(tpe("2026-11-28 23:30"))
    queued = bind(world, "pi")
    assert queued.binding.valid_from == ending.effective_at == tpe("2026-11-29 04:00")
    assert holder(world, "2026-11-29 03:59") == "cmj"
    assert holder(world, "2026-11-29 04:00") == "pi"
    with world.tx() as s:
        upcoming = queries.lookup(s, "tpe-lots", "car", PLATE, world.clock.now()).upcoming
    assert [b.agent_id for b in upcoming] == ["pi"]
    assert refused(world, "jko").code == "plate_bound_elsewhere"


def test_same_agent_rebinding_its_ending_binding_continues_without_gap(world: Db) -> None:
    bind(world, "cmj")
    world.clock.set(tpe("2026-11-28 12:00"))
    ending = unbind(world, "cmj")
    again = bind(world, "cmj")
    assert again.created
    assert again.binding.valid_from == ending.effective_at


def test_transfer_with_owner_code_moves_the_plate_at_one_cutover(world: Db) -> None:
    old = bind(world, "cmj").binding
    world.clock.set(tpe("2026-11-28 12:00"))
    code = issue_code(world)
    moved = bind(world, "pi", code=code)
    assert moved.created
    assert moved.binding.valid_from == tpe("2026-11-29 04:00")
    with world.tx() as s:
        old_now = queries.get_binding(s, old.id)
    assert old_now.valid_to == moved.binding.valid_from  # no gap, no overlap
    assert old_now.end_reason == "transferred"
    assert ("binding.transfer_out", "cmj") in events(world)
    assert ("binding.scheduled", "pi") in events(world)
    # Single use.
    assert refused(world, "jko", code=code).code == "transfer_code_invalid"


def test_transfer_cancels_a_scheduled_binding_of_another_agent(world: Db) -> None:
    scheduled = bind(world, "cmj").binding
    moved = bind(world, "pi", code=issue_code(world))
    with world.tx() as s:
        cancelled = queries.get_binding(s, scheduled.id)
    assert cancelled.valid_to == cancelled.valid_from
    assert moved.binding.valid_from == tpe("2026-11-27 04:00")
    assert ("binding.cancelled", "cmj") in events(world)


def test_transfer_when_holder_is_ending_is_a_queued_bind_and_keeps_the_code(world: Db) -> None:
    bind(world, "cmj")
    world.clock.set(tpe("2026-11-28 12:00"))
    ending = unbind(world, "cmj")
    code = issue_code(world)
    queued = bind(world, "pi", code=code)
    assert queued.binding.valid_from == ending.effective_at
    with world.tx() as s:
        (record,) = transfers.codes_for_plate(s, "car", PLATE)
    assert record.used_at is None


def test_transfer_code_must_match_the_plate_and_scope(world: Db) -> None:
    bind(world, "cmj")
    bind(world, "cmj", plate="XYZ-5678")
    other_plate_code = issue_code(world, plate="XYZ-5678")
    assert refused(world, "pi", code=other_plate_code).code == "transfer_code_invalid"
    other_scope_code = issue_code(world, scope="tpe-roadside")
    assert refused(world, "pi", code=other_scope_code).code == "transfer_code_invalid"
    assert refused(world, "pi", code="NOT-A-CODE").code == "transfer_code_invalid"


def test_a_new_code_voids_the_older_one(world: Db) -> None:
    bind(world, "cmj")
    older = issue_code(world)
    newer = issue_code(world)
    assert refused(world, "pi", code=older).code == "transfer_code_invalid"
    assert bind(world, "pi", code=newer.lower()).created  # codes are case-insensitive


def test_transfer_code_expires_after_seven_days(world: Db) -> None:
    bind(world, "cmj")
    code = issue_code(world)
    world.clock.advance(timedelta(days=7))
    assert refused(world, "pi", code=code).code == "transfer_code_expired"


def test_invalid_codes_are_counted_and_rate_limited_per_agent(world: Db) -> None:
    bind(world, "cmj")
    for _ in range(transfers.MAX_FAILURES):
        assert refused(world, "pi", code="WRONG-CODE").code == "transfer_code_invalid"
    code = issue_code(world)
    limited = refused(world, "pi", code=code)
    assert limited.code == "transfer_code_rate_limited"
    assert limited.status == 429
    with world.tx() as s:
        failures = s.scalar(select(func.count()).select_from(TransferCodeFailure))
    assert failures == transfers.MAX_FAILURES
    assert bind(world, "jko", code=code).created  # another agent is not limited
    world.clock.advance(transfers.FAILURE_WINDOW)
    assert refused(world, "pi", code="WRONG-CODE").code == "transfer_code_invalid"


def test_suspended_agent_cannot_bind_and_its_plates_can_be_taken_without_code(world: Db) -> None:
    old = bind(world, "cmj").binding
    world.clock.set(tpe("2026-11-28 12:00"))
    with world.tx() as s:
        agents.set_agent_status(s, world.clock, ADMIN, "cmj", "suspended")
    assert refused(world, "cmj", plate="XYZ-5678").code == "agent_suspended"
    taken = bind(world, "pi")
    assert taken.binding.valid_from == tpe("2026-11-29 04:00")
    with world.tx() as s:
        assert queries.get_binding(s, old.id).end_reason == "agent_suspended"


def test_agent_must_be_accredited_for_the_scope(world: Db) -> None:
    with world.tx() as s:
        agents.add_agent(
            s, world.clock, ADMIN, agent_id="lots-only", name="Lots only", scopes=["tpe-lots"]
        )
    assert refused(world, "lots-only", scope="tpe-roadside").code == "agent_not_accredited"


@pytest.mark.parametrize("plate", ["AB-12", "", "ABI-1234", "ABC-12345", "🚗"])
def test_invalid_plate_is_refused_with_the_accepted_formats(world: Db, plate: str) -> None:
    error = refused(world, "cmj", plate=plate)
    assert error.code == "invalid_plate"
    assert error.status == 422
    assert "ABC-1234" in error.detail
    assert rows(world) == []


def test_unknown_scope_and_agent_are_not_found(world: Db) -> None:
    assert refused(world, "cmj", scope="nowhere").code == "scope_not_found"
    assert refused(world, "ghost").code == "agent_not_found"


def test_immediate_scope_activates_and_ends_at_once(world: Db) -> None:
    result = bind(world, "cmj", scope="instant")
    assert result.binding.valid_from == world.clock.now()
    assert ("binding.activated", "cmj") in events(world)
    world.clock.advance(timedelta(minutes=5))
    ended = unbind(world, "cmj", scope="instant")
    assert ended.effective_at == world.clock.now()
    assert ("binding.ended", "cmj") in events(world)


def test_offboarding_ends_every_binding_and_revokes_keys(db: Db) -> None:
    keys = build_world(db).keys
    db.clock.set(tpe("2026-11-26 10:00"))
    bind(db, "cmj")
    bind(db, "cmj", plate="XYZ-5678", scope="tpe-roadside")
    with db.tx() as s:
        results = service.offboard_agent(s, db.clock, ADMIN, "cmj")
    assert {r.binding.end_reason for r in results} == {"offboarded"}
    with db.tx() as s:
        assert agents.authenticate(s, keys["cmj"]) is None
        assert agents.authenticate(s, keys["pi"]) is not None
        assert service.agent_open_bindings(s, "cmj") == []


def test_change_feed_is_gap_free_per_scope_and_filters_by_agent(world: Db) -> None:
    bind(world, "cmj")
    bind(world, "pi", plate="XYZ-5678")
    bind(world, "cmj", scope="tpe-roadside")
    bind(world, "jko", code=issue_code(world))  # two changes: cancel + bind
    with world.tx() as s:
        lots = feed.changes(s, "tpe-lots")
        roadside = feed.changes(s, "tpe-roadside")
        later = feed.changes(s, "tpe-lots", after=2)
        mine = feed.changes(s, "tpe-lots", agent_id="cmj")
    assert [c.seq for c in lots] == [1, 2, 3, 4]
    assert [c.change for c in lots] == ["bind", "bind", "cancel", "bind"]
    assert [c.seq for c in roadside] == [1]
    assert [c.seq for c in later] == [3, 4]
    assert {c.agent_id for c in mine} == {"cmj"}


def test_snapshot_lists_live_bindings_and_its_seq(world: Db) -> None:
    bind(world, "cmj")
    bind(world, "pi", plate="XYZ-5678")
    with world.tx() as s:
        service.unbind_plate(
            s,
            world.clock,
            ADMIN,
            agent_id="pi",
            scope_id="tpe-lots",
            vehicle_type="car",
            plate="XYZ-5678",
        )  # cancelled: not live
        snap = feed.snapshot(s, "tpe-lots", world.clock.now())
        plates = [b.plate for b in snap.bindings]
    assert snap.seq == 3
    assert plates == [PLATE]


def test_cycle_run_publishes_what_took_effect_once(world: Db) -> None:
    bind(world, "cmj")
    world.clock.set(tpe("2026-11-27 12:00"))
    unbind(world, "cmj")
    world.clock.set(tpe("2026-11-28 05:00"))
    with world.tx() as s:
        (first,) = feed.run_cycle(s, world.clock, ADMIN, ["tpe-lots"])
    with world.tx() as s:
        (second,) = feed.run_cycle(s, world.clock, ADMIN, ["tpe-lots"])
    assert (first.activated, first.ended) == (1, 1)
    assert (second.activated, second.ended) == (0, 0)
    published = events(world)
    assert published.count(("binding.activated", "cmj")) == 1
    assert published.count(("binding.ended", "cmj")) == 1


def test_cycle_run_that_crashes_loses_nothing(world: Db) -> None:
    bind(world, "cmj")
    world.clock.set(tpe("2026-11-27 05:00"))

    def killed_mid_run() -> None:
        with world.tx() as s:
            feed.run_cycle(s, world.clock, ADMIN)
            raise RuntimeError("killed mid-run")

    with pytest.raises(RuntimeError):
        killed_mid_run()
    assert ("binding.activated", "cmj") not in events(world)
    with world.tx() as s:
        summaries = feed.run_cycle(s, world.clock, ADMIN)
    assert sum(x.activated for x in summaries) == 1
    assert ("binding.activated", "cmj") in events(world)


def test_every_write_is_audited_with_actor_and_request_id(world: Db) -> None:
    bind(world, "cmj")
    unbind(world, "cmj")
    with world.tx() as s:
        entries = list(
            s.scalars(select(AuditEntry).where(AuditEntry.plate == PLATE).order_by(AuditEntry.id))
        )
    assert [e.action for e in entries] == ["binding.bind", "binding.unbound"]
    assert (entries[0].actor_type, entries[0].actor_id, entries[0].request_id) == (
        "agent",
        "cmj",
        "req-1",
    )


def test_history_lists_every_interval_in_every_scope(world: Db) -> None:
    bind(world, "cmj")
    bind(world, "pi", scope="tpe-roadside")
    bind(world, "jko", code=issue_code(world))
    with world.tx() as s:
        history = queries.plate_history(s, "car", "abc-1234")
    assert [(b.scope_id, b.agent_id) for b in history] == [
        ("tpe-lots", "cmj"),
        ("tpe-lots", "jko"),
        ("tpe-roadside", "pi"),
    ]


def _raw_binding(world: Db, agent: str, start: datetime, end: datetime | None) -> Binding:
    """A binding row written past the service, to test the database's own guard."""
    return Binding(
        scope_id="tpe-lots",
        vehicle_type="car",
        plate=PLATE,
        agent_id=agent,
        valid_from=start,
        valid_to=end,
        requested_at=world.clock.now(),
    )


def test_the_database_itself_refuses_overlapping_intervals(world: Db) -> None:
    start = bind(world, "cmj").binding.valid_from
    day = timedelta(days=1)
    for overlapping in (
        _raw_binding(world, "pi", start + day, start + 2 * day),
        _raw_binding(world, "pi", start - day, None),
    ):
        with pytest.raises(IntegrityError), world.tx() as s:
            s.add(overlapping)
    # Touching intervals ([a, b) then [b, c)) and empty (cancelled) ones are fine.
    with world.tx() as s:
        s.add(_raw_binding(world, "pi", start - day, start))
        s.add(_raw_binding(world, "jko", start, start))
    assert len(rows(world)) == 3


@pytest.mark.parametrize(
    ("bound_at", "unbound_at", "starts", "ends"),
    [
        # Wednesday 23:59: Thursday's cut-over; unbound Thursday 04:01, Friday is Constitution
        # Day (a Taiwan holiday) and then the weekend: Monday 04:00.
        ("2026-12-23 23:59", "2026-12-24 04:01", "2026-12-24 04:00", "2026-12-28 04:00"),
        # Thursday 04:01: past Thursday's cut-over, so Monday; unbound at 23:59 before it
        # starts: cancelled at its start.
        ("2026-12-24 04:01", "2026-12-24 23:59", "2026-12-28 04:00", "2026-12-28 04:00"),
    ],
)
def test_business_day_scope_skips_holidays_for_binds_and_unbinds(
    db: Db, bound_at: str, unbound_at: str, starts: str, ends: str
) -> None:
    build_world(db, business_days_only=True)
    db.clock.set(tpe(bound_at))
    assert bind(db, "cmj").effective_at == tpe(starts)
    db.clock.set(tpe(unbound_at))
    ended = unbind(db, "cmj")
    assert ended.effective_at == tpe(ends)
    assert (ended.binding.valid_to == ended.binding.valid_from) == (starts == ends)
