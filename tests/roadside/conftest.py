"""Roadside test harness: the registry world (scopes tpe-lots and tpe-roadside; agents cmj, pi,
jko), two street segments at 30 TWD an hour by the half hour, a warden, and shortcuts that go
through the same services as the API and the CLI, each in its own committed transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from platebind.billing import bills, charges
from platebind.billing.bills import Payment
from platebind.billing.models import Bill, Charge
from platebind.registry import service as registry
from platebind.registry.audit import Actor
from platebind.roadside import issuing, service, settlement, tasks
from platebind.roadside.checking import BillRecord
from platebind.roadside.models import RoadsideBill
from platebind.webhooks import service as webhooks
from platebind.webhooks.models import OutboxEvent
from tests.conftest import ADMIN, Db
from tests.registry.test_cutover import tpe
from tests.registry.world import build_world

SCOPE = "tpe-roadside"
SEGMENT = "ZX0401"
OTHER_SEGMENT = "ZX0402"
HALF_HOURLY = "計時：30元/時，全程以半小時計。"
WARDEN = Actor("warden", "w-0017")


@pytest.fixture(autouse=True, scope="session")
def _roadside_settlement() -> None:
    settlement.install()  # as the API app and the CLI do


@dataclass
class Roadside:
    db: Db
    keys: dict[str, str]

    def issue(
        self,
        bill_no: str,
        plate: str = "ABC-1234",
        vehicle_type: str = "car",
        *,
        started: str = "2026-11-27 10:00",
        ended: str | None = "2026-11-27 11:10",
        issued: str | None = None,
        amount: int | None = None,
        due: str | None = None,
        segment: str = SEGMENT,
    ) -> dict[str, Any]:
        """Issue as a warden does; the answer."""
        record = BillRecord(
            bill_no=bill_no,
            vehicle_type=vehicle_type,
            plate=plate,
            segment=segment,
            started_at=tpe(started),
            ended_at=None if ended is None else tpe(ended),
            amount=amount,
            issued_at=tpe(issued) if issued else tpe(ended or started),
            due_at=None if due is None else tpe(due),
        )
        with self.db.tx() as s:
            return issuing.issue_one(s, self.db.clock.now(), WARDEN, record).answer

    def moto(
        self,
        bill_no: str,
        plate: str = "123-ABC",
        *,
        started: str = "2026-11-27 09:00",
        issued: str | None = None,
        segment: str = SEGMENT,
    ) -> dict[str, Any]:
        """A motorcycle's bill (per entry: no end time needed)."""
        return self.issue(
            bill_no,
            plate,
            "motorcycle",
            started=started,
            ended=None,
            issued=issued,
            segment=segment,
        )

    def bind(self, agent: str, plate: str, vehicle_type: str = "car", scope: str = SCOPE) -> None:
        """Bind now (effective at the next 04:00 cut-over)."""
        with self.db.tx() as s:
            registry.bind(
                s,
                self.db.clock,
                Actor("agent", agent),
                agent_id=agent,
                scope_id=scope,
                vehicle_type=vehicle_type,
                plate=plate,
            )

    def bill(self, bill_no: str) -> Bill:
        with self.db.tx() as s:
            return s.scalars(select(Bill).where(Bill.source_id == bill_no)).one()

    def row(self, bill_no: str) -> RoadsideBill:
        with self.db.tx() as s:
            found = s.get(RoadsideBill, bill_no)
            assert found is not None
            return found

    def bills(self) -> list[Bill]:
        with self.db.tx() as s:
            return list(s.scalars(select(Bill).order_by(Bill.issued_at, Bill.id)))

    def charges(self) -> list[Charge]:
        with self.db.tx() as s:
            return list(s.scalars(select(Charge).order_by(Charge.requested_at, Charge.amount)))

    def settle(self, answer: dict[str, Any], outcome: str, reference: str | None = None) -> Charge:
        auto = answer["auto_pay"]
        with self.db.tx() as s:
            return charges.settle(
                s,
                self.db.clock.now(),
                auto["agent"],
                uuid.UUID(auto["charge_id"]),
                outcome,
                reference,
                None if outcome == "paid" else "card_expired",
            )

    def pay_in_portal(self, bill_no: str) -> Payment:
        bill_id = self.bill(bill_no).id
        with self.db.tx() as s:
            return bills.pay_bill(
                s, self.db.clock.now(), Actor("citizen", "m-1"), bill_id, payer="member:m-1"
            )

    def daily(self, at: str) -> dict[str, int]:
        self.db.clock.set(tpe(at))
        with self.db.tx() as s:
            return tasks.run_daily(s, self.db.clock.now()).as_dict()

    def outbox(self, agent: str | None = None, prefix: str = "") -> list[OutboxEvent]:
        with self.db.tx() as s:
            found = webhooks.events_for(s, agent)
        return [e for e in found if e.event_type.startswith(prefix)]

    def at(self, when: str | datetime) -> None:
        self.db.clock.set(tpe(when) if isinstance(when, str) else when)


def add_segments(db: Db) -> None:
    with db.tx() as s:
        for segment_id, name in ((SEGMENT, "忠孝東路四段"), (OTHER_SEGMENT, "敦化南路一段")):
            service.add_segment(
                s,
                db.clock.now(),
                ADMIN,
                segment_id=segment_id,
                scope_id=SCOPE,
                name=name,
                payex=HALF_HOURLY,
            )


@pytest.fixture
def roadside(db: Db) -> Roadside:
    keys = build_world(db).keys
    add_segments(db)
    return Roadside(db, keys)
