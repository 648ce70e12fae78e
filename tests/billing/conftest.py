"""Billing test harness: the registry world (agents cmj, pi, jko) and charges made through the
contract function ``request_charge``, as a gate's exit makes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from platebind.billing import charges
from platebind.billing.models import Bill, Charge, SettleEvent
from platebind.webhooks import service as webhooks
from platebind.webhooks.models import OutboxEvent
from tests.conftest import Db
from tests.registry.world import build_world

STAY = timedelta(hours=2, minutes=10)


@dataclass
class Billing:
    """The world and shortcuts, each in its own committed transaction."""

    db: Db
    keys: dict[str, str]

    def charge(
        self,
        source_id: str | None = None,
        *,
        agent: str = "cmj",
        amount: int = 75,
        plate: str = "ABC-1234",
        vehicle_type: str = "car",
        **extra: Any,
    ) -> Charge:
        now = self.db.clock.now()
        with self.db.tx() as s:
            return charges.request_charge(
                s,
                now,
                agent_id=agent,
                scope_id="tpe-lots",
                vehicle_type=vehicle_type,
                plate=plate,
                amount=amount,
                source="session",
                source_id=source_id or f"s-{uuid.uuid4().hex[:12]}",
                place=extra.pop("place", "TPE0001"),
                started_at=extra.pop("started_at", now - STAY),
                ended_at=extra.pop("ended_at", now),
                **extra,
            )

    def settle(
        self,
        charge: Charge,
        outcome: str,
        reference: str | None = None,
        reason: str | None = None,
        *,
        agent: str | None = None,
    ) -> Charge:
        with self.db.tx() as s:
            return charges.settle(
                s,
                self.db.clock.now(),
                agent or charge.agent_id,
                charge.id,
                outcome,
                reference,
                reason,
            )

    def pay(self, charge: Charge, reference: str | None = None) -> Charge:
        return self.settle(charge, "paid", reference or f"ref-{charge.source_id}")

    def get(self, charge_id: uuid.UUID) -> Charge:
        with self.db.tx() as s:
            return charges.get_charge(s, charge_id)

    def events(self, charge_id: uuid.UUID | None = None) -> list[SettleEvent]:
        stmt = select(SettleEvent).order_by(SettleEvent.id)
        if charge_id is not None:
            stmt = stmt.where(SettleEvent.charge_id == charge_id)
        with self.db.tx() as s:
            return list(s.scalars(stmt))

    def bills(self) -> list[Bill]:
        with self.db.tx() as s:
            return list(s.scalars(select(Bill).order_by(Bill.issued_at, Bill.id)))

    def outbox(self, agent: str | None = None) -> list[OutboxEvent]:
        with self.db.tx() as s:
            return webhooks.events_for(s, agent)

    def at(self, when: datetime) -> None:
        self.db.clock.set(when)


@pytest.fixture
def billing(db: Db) -> Billing:
    return Billing(db, build_world(db).keys)
