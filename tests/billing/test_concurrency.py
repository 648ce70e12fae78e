"""Settles of one charge racing on PostgreSQL: exactly one outcome wins, nothing is written
twice (one statement line, at most one bill), and a bill paid twice at once is collected once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import func, select, text

from platebind.billing import bills, charges
from platebind.billing.models import Bill, Charge, SettleEvent
from platebind.errors import DomainError
from platebind.registry.audit import SYSTEM
from tests.billing.conftest import Billing
from tests.conftest import T0, Db
from tests.registry.world import build_world

pytestmark = pytest.mark.postgres
ROUNDS = 12
T = TypeVar("T")


@pytest.fixture
def pg_billing(pg_db: Db) -> Billing:
    return Billing(pg_db, build_world(pg_db).keys)


def race(work: list[Callable[[], T]]) -> list[T | str]:
    """Run the calls at once (released together); each one's result or refusal code."""
    barrier = threading.Barrier(len(work))

    def run(call: Callable[[], T]) -> T | str:
        barrier.wait()
        try:
            return call()
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(run, work))


def settle_call(billing: Billing, charge: Charge, outcome: str) -> Callable[[], str]:
    def call() -> str:
        with billing.db.tx() as s:
            charges.settle(s, T0, "cmj", charge.id, outcome, f"tx-{outcome}", "no funds")
        return outcome

    return call


def counts(db: Db) -> tuple[int, int]:
    with db.tx() as s:
        lines = s.scalar(select(func.count()).select_from(SettleEvent)) or 0
        billed = s.scalar(select(func.count()).select_from(Bill)) or 0
    return lines, billed


def test_paid_and_declined_at_once_one_wins_and_nothing_is_doubled(
    pg_billing: Billing,
) -> None:
    made = [pg_billing.charge(f"s-{i:02d}") for i in range(ROUNDS)]
    winners: Counter[str] = Counter()
    for charge in made:
        outcomes = race(
            [settle_call(pg_billing, charge, "paid"), settle_call(pg_billing, charge, "declined")]
        )
        assert outcomes.count("charge_already_settled") == 1
        (won,) = [o for o in outcomes if o != "charge_already_settled"]
        winners[str(won)] += 1
        assert pg_billing.get(charge.id).status == won
    lines, billed = counts(pg_billing.db)
    assert lines == ROUNDS
    assert billed == winners["declined"]
    with pg_billing.db.tx() as s:
        per_charge = s.execute(select(Bill.charge_id, func.count()).group_by(Bill.charge_id)).all()
    assert all(n == 1 for _, n in per_charge)


def test_the_same_decline_at_once_settles_once_and_bills_once(pg_billing: Billing) -> None:
    charge = pg_billing.charge("s-1")
    outcomes = race([settle_call(pg_billing, charge, "declined") for _ in range(8)])
    assert outcomes == ["declined"] * 8
    assert counts(pg_billing.db) == (1, 1)


def test_the_48_hour_sweep_racing_the_agents_answer_settles_each_charge_once(
    pg_billing: Billing,
) -> None:
    made = [pg_billing.charge(f"s-{i:02d}") for i in range(ROUNDS)]
    late = T0 + timedelta(hours=49)

    def sweep() -> str:
        with pg_billing.db.tx() as s:
            charges.expire_unsettled(s, late)
        return "swept"

    refused: list[str] = []

    def pay_all() -> str:
        for charge in made:
            try:
                with pg_billing.db.tx() as s:
                    charges.settle(s, late, "cmj", charge.id, "paid", "tx-late")
            except DomainError as exc:
                refused.append(exc.code)
        return "paid"

    assert race([sweep, pay_all]) == ["swept", "paid"]
    assert set(refused) <= {"charge_already_settled"}
    statuses = Counter(pg_billing.get(c.id).status for c in made)
    lines, billed = counts(pg_billing.db)
    assert lines == ROUNDS
    assert billed == statuses["declined"]
    assert statuses["declined"] + statuses["paid"] == ROUNDS


class HeldStep:
    """A payment provider that holds on to the first payment until released, so the test can
    send a second payer in while the first one is being collected."""

    def __init__(self) -> None:
        self.calls = 0
        self.inside = threading.Event()
        self.release = threading.Event()

    def collect(self, bill: Bill, *, payer: str, now: datetime) -> str:
        self.calls += 1
        self.inside.set()
        assert self.release.wait(10)
        return f"psp-{self.calls}"


def waiting_on_a_lock(db: Db) -> bool:
    with db.engine.connect() as conn:
        found = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(found)


def test_a_bill_paid_twice_at_once_is_collected_once(pg_billing: Billing) -> None:
    pg_billing.settle(pg_billing.charge("s-1"), "declined")
    (bill,) = pg_billing.bills()
    step = HeldStep()

    def pay() -> bool:
        with pg_billing.db.tx() as s:
            payment = bills.pay_bill(s, T0, SYSTEM, bill.id, payer="member:1", step=step)
            return payment.paid_now

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(pay)
        assert step.inside.wait(10)  # the first payment is being collected, its row locked
        second = pool.submit(pay)
        deadline = time.monotonic() + 10
        while not waiting_on_a_lock(pg_billing.db):  # until the second payer waits for it
            assert time.monotonic() < deadline, "the second payer never waited for the lock"
        step.release.set()
        assert (first.result(), second.result()) == (True, False)
    assert step.calls == 1
    assert pg_billing.bills()[0].payment_reference == "psp-1"
