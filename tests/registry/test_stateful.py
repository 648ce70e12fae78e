"""Random sequences of bind / unbind / transfer / cancel / suspend / time passing never break the
exclusivity invariant, never leave a gap in the change feed, and refusals change nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from platebind.errors import DomainError
from platebind.registry import agents, feed, queries, service, transfers
from platebind.registry.audit import Actor
from platebind.registry.models import Binding, BindingChange
from tests.conftest import ADMIN, Db
from tests.registry.invariants import overlapping_bindings, seq_gaps
from tests.registry.world import build_world

AGENTS = ("cmj", "pi", "jko")
SCOPES = ("tpe-lots", "instant")
_runs = itertools.count()


def _write_count(db: Db) -> tuple[int, int]:
    with db.tx() as s:
        bindings = s.scalar(select(func.count()).select_from(Binding)) or 0
        changes = s.scalar(select(func.count()).select_from(BindingChange)) or 0
    return bindings, changes


def machine_for(db: Db) -> type[RuleBasedStateMachine]:
    def _live(scope: str, plate: str) -> list[Binding]:
        with db.tx() as s:
            return [
                b
                for b in queries.plate_history(s, "car", plate)
                if b.scope_id == scope
                and (b.valid_to is None or b.valid_to > db.clock.now())
                and b.valid_to != b.valid_from
            ]

    def _is_active(agent_id: str) -> bool:
        with db.tx() as s:
            return agents.get_agent(s, agent_id).status == "active"

    def _usable_code(scope: str, plate: str) -> bool:
        with db.tx() as s:
            return any(
                c.scope_id == scope
                and c.used_at is None
                and c.voided_at is None
                and c.expires_at > db.clock.now()
                for c in transfers.codes_for_plate(s, "car", plate)
            )

    class Registry(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # Fresh plates per run keep runs independent within one database.
            run = next(_runs)
            self.plates = [f"{letters}-{run % 9000 + 1000}" for letters in ("AAA", "BBB")]
            self.codes: dict[tuple[str, str], str] = {}

        @rule(
            agent=st.sampled_from(AGENTS),
            plate=st.integers(0, 1),
            scope=st.sampled_from(SCOPES),
            with_code=st.booleans(),
        )
        def bind(self, agent: str, plate: int, scope: str, with_code: bool) -> None:
            code = self.codes.get((scope, self.plates[plate])) if with_code else None
            before = _write_count(db)
            live = _live(scope, self.plates[plate])
            try:
                with db.tx() as s:
                    result = service.bind(
                        s,
                        db.clock,
                        Actor("agent", agent),
                        agent_id=agent,
                        scope_id=scope,
                        vehicle_type="car",
                        plate=self.plates[plate],
                        transfer_code=code,
                    )
            except DomainError as exc:  # a state machine inspects refusals in place
                assert exc.code in {  # noqa: PT017
                    "plate_bound_elsewhere",
                    "agent_suspended",
                    "transfer_code_invalid",
                    "transfer_code_expired",
                }
                assert _write_count(db) == before  # a refusal leaves everything as it was
                if exc.code == "plate_bound_elsewhere":
                    holders = [b.agent_id for b in live if b.valid_to is None]
                    assert holders
                    assert holders[0] != agent
                    # Neither takeover applied: the holder is active and no usable code.
                    assert _is_active(holders[0])
                    assert code is None or not _usable_code(scope, self.plates[plate])
                return
            assert result.binding.agent_id == agent
            if result.created:
                assert result.binding.valid_from >= db.clock.now()
            ends = [b.valid_to for b in live if b.valid_to is not None]
            if result.created and ends and all(b.valid_to is not None for b in live):
                assert result.binding.valid_from == max(ends)  # queued: no gap
            if not result.created:
                assert _write_count(db) == before

        @rule(agent=st.sampled_from(AGENTS), plate=st.integers(0, 1), scope=st.sampled_from(SCOPES))
        def unbind(self, agent: str, plate: int, scope: str) -> None:
            try:
                with db.tx() as s:
                    ended = service.unbind_plate(
                        s,
                        db.clock,
                        Actor("agent", agent),
                        agent_id=agent,
                        scope_id=scope,
                        vehicle_type="car",
                        plate=self.plates[plate],
                    )
            except DomainError as exc:
                assert exc.code == "binding_not_found"  # noqa: PT017
                return
            assert ended.effective_at >= ended.binding.valid_from

        @rule(plate=st.integers(0, 1), scope=st.sampled_from(SCOPES))
        def issue_code(self, plate: int, scope: str) -> None:
            with db.tx() as s:
                issued = transfers.issue(s, db.clock, ADMIN, scope, "car", self.plates[plate])
            self.codes[(scope, self.plates[plate])] = issued.code

        @rule(agent=st.sampled_from(AGENTS), plate=st.integers(0, 1), scope=st.sampled_from(SCOPES))
        def transfer(self, agent: str, plate: int, scope: str) -> None:
            """The owner issues a code and the new agent binds with it at once."""
            self.issue_code(plate, scope)
            self.bind(agent, plate, scope, with_code=True)

        @rule(agent=st.sampled_from(AGENTS), suspended=st.booleans())
        def set_status(self, agent: str, suspended: bool) -> None:
            with db.tx() as s:
                agents.set_agent_status(
                    s, db.clock, ADMIN, agent, "suspended" if suspended else "active"
                )

        @rule(hours=st.sampled_from([1, 5, 18, 24, 49]))
        def time_passes(self, hours: int) -> None:
            db.clock.advance(timedelta(hours=hours))

        @rule()
        def cycle(self) -> None:
            with db.tx() as s:
                feed.run_cycle(s, db.clock, ADMIN)

        @invariant()
        def exclusive_and_gap_free(self) -> None:
            with db.tx() as s:
                assert overlapping_bindings(s) == []
                assert seq_gaps(s) == {}

        def teardown(self) -> None:
            with db.tx() as s:
                for agent in AGENTS:
                    agents.set_agent_status(s, db.clock, ADMIN, agent, "active")

    return Registry


def test_random_binding_histories_keep_every_invariant(db: Db) -> None:
    build_world(db)
    examples = 25 if db.dialect == "sqlite" else 12
    run_state_machine_as_test(
        machine_for(db),
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
