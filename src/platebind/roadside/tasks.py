"""Roadside's part of the daily job (``platebind cycle run``): unpaid bills past their due date
are reminded (``reminded_at``; ``bill.overdue`` to the agent the bill was sent to), and once
the reminder's notice period is over, surcharged (``surcharge`` = the scope's rule;
``bill.overdue`` again, with the surcharge). Set-based, in batches; runs in the caller's
transaction; a re-run finds nothing new (and its webhooks are written once).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from platebind.billing.models import Bill
from platebind.registry import audit
from platebind.registry.audit import SYSTEM, Actor
from platebind.registry.models import Scope
from platebind.roadside import events, service
from platebind.roadside.issuing import KIND
from platebind.roadside.models import RoadsideBill
from platebind.roadside.rules import reminded_before_for_surcharge
from platebind.roadside.schemas import loaded_bill_out

_BATCH = 500


@dataclass(frozen=True)
class DailySummary:
    reminded: int
    surcharged: int

    def as_dict(self) -> dict[str, int]:
        return {"reminded": self.reminded, "surcharged": self.surcharged}


def run_daily(session: Session, now: datetime, *, actor: Actor = SYSTEM) -> DailySummary:
    summary = DailySummary(_remind(session, now), _surcharge(session, now))
    if summary.reminded or summary.surcharged:
        audit.record(session, actor, now, "roadside.daily", detail=summary.as_dict())
    return summary


def _unpaid() -> Select[uuid.UUID]:
    return select(Bill.id).where(Bill.kind == KIND, Bill.status == "unpaid")


def _remind(session: Session, now: datetime) -> int:
    """Bills past due and not yet reminded: reminded now."""
    candidates = (
        _unpaid()
        .where(Bill.due_at <= now, Bill.reminded_at.is_(None))
        .order_by(Bill.due_at, Bill.id)
        .limit(_BATCH)
    )
    reminded = 0
    while ids := list(session.scalars(candidates)):
        stmt = (
            update(Bill)
            .where(Bill.id.in_(ids), Bill.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(stmt)
        reminded += len(ids)
        _tell_overdue(session, now, ids)
    return reminded


def _surcharge(session: Session, now: datetime) -> int:
    """Reminded bills whose notice period is over: the scope's surcharge added now."""
    surcharged = 0
    for scope_id in _scopes_with_bills(session):
        rules = service.get_rules(session, scope_id)
        candidates = (
            _unpaid()
            .join(RoadsideBill, RoadsideBill.bill_id == Bill.id)
            .where(
                RoadsideBill.scope_id == scope_id,
                RoadsideBill.surcharged_at.is_(None),
                Bill.reminded_at < reminded_before_for_surcharge(now, rules),
            )
            .order_by(Bill.reminded_at, Bill.id)
            .limit(_BATCH)
        )
        while ids := list(session.scalars(candidates)):
            session.execute(
                update(RoadsideBill)
                .where(RoadsideBill.bill_id.in_(ids))
                .values(surcharged_at=now)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(Bill)
                .where(Bill.id.in_(ids))
                .values(surcharge=rules.surcharge)
                .execution_options(synchronize_session=False)
            )
            surcharged += len(ids)
            _tell_overdue(session, now, ids)
    return surcharged


def _scopes_with_bills(session: Session) -> list[str]:
    return list(session.scalars(select(Scope.id).where(Scope.kind == "roadside")))


def _tell_overdue(session: Session, now: datetime, bill_ids: Sequence[uuid.UUID]) -> None:
    """``bill.overdue`` to the agent of each of these bills that was sent for auto-pay."""
    stmt = (
        select(Bill, RoadsideBill)
        .join(RoadsideBill, RoadsideBill.bill_id == Bill.id)
        .where(Bill.id.in_(bill_ids), Bill.charge_id.is_not(None))
        .execution_options(populate_existing=True)
    )
    for bill, road in session.execute(stmt):
        if road.agent_id is None:
            continue
        events.tell(
            session,
            now,
            "bill.overdue",
            agent_id=road.agent_id,
            bill_no=road.bill_no,
            effective_at=now,
            data=loaded_bill_out(bill, road).model_dump(mode="json"),
            once=True,
        )
