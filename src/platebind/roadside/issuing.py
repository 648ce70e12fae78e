"""Issuing roadside bills, a batch at a time: the same path for one warden's post and for
10,000 lines of an import. Services never commit.

A batch costs a fixed number of statements whatever its size (bills already issued, the
plates' live motorcycle bills, their bindings; then one multi-row insert per table), plus one
``request_charge`` per auto-paid bill: the charge contract of issue 6, so a roadside charge is
told, settled, expired and stated exactly like a lot's.

Issuing is serialised per scope (a transaction lock): the "one motorcycle bill a plate a day"
rule reads the plate's bills of the day and then writes, and two writers must not both see
none. A bill is:

- a replay when its number was issued with the same content (the first answer comes back);
- refused (``bill_no_reused``) when its number was issued with other content;
- voided at once when it is a motorcycle's second bill of the billing day (kept, with the
  reason, so the driver sees why);
- sent to the agent bound in the scope at its issue time (an active agent), as a charge, when
  it is still within its due date; otherwise left for the driver to pay in the portal.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from platebind.billing.charges import request_charge
from platebind.billing.models import Bill
from platebind.db import Base, created_at_default, lock_key
from platebind.errors import DomainError
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.roadside import events, repository
from platebind.roadside.checking import BillRecord, Checked, Desk, check
from platebind.roadside.errors import BillNumberReused
from platebind.roadside.models import RoadsideBill
from platebind.roadside.rules import may_auto_pay
from platebind.roadside.schemas import bill_out

SOURCE = "roadside_bill"
KIND = "roadside"
REASON = "issued"
NOTHING_TO_COLLECT = "nothing-to-collect"


@dataclass(frozen=True)
class Result:
    line: int
    bill_no: str
    answer: dict[str, Any]
    new: bool  # False: a replay of a bill already issued (its first answer)


@dataclass(frozen=True)
class Rejection:
    line: int
    bill_no: str
    error: DomainError

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "bill_no": self.bill_no,
            "code": self.error.code,
            "reason": self.error.detail,
        }


@dataclass
class Batch:
    results: list[Result] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class _Facts:
    """What the batch's decisions depend on, read in a few statements."""

    issued: dict[str, tuple[str, dict[str, Any]]]
    days: dict[str, set[tuple[str, date]]]
    holdings: dict[str, dict[tuple[str, str], list[repository.Holding]]]


def issue_batch(desk: Desk, rows: Sequence[Checked]) -> Batch:
    """Issue checked bills (see the module), in order: within a batch, the first of two
    motorcycle bills of a plate and day is the live one."""
    session = desk.session
    scopes = sorted({row.segment.scope_id for row in rows})
    for scope_id in scopes:
        lock_key(session, f"roadside-bills:{scope_id}")
    facts = _read_facts(session, scopes, rows)
    batch = Batch()
    bills: list[dict[str, Any]] = []
    roads: list[dict[str, Any]] = []
    # The webhooks of the batch's charges and bills wait in the session and are written in one
    # flush, instead of one flush before each charge's insert.
    with session.no_autoflush:
        for row in rows:
            seen = facts.issued.get(row.record.bill_no)
            if seen is not None:
                _replay(batch, row, *seen)
                continue
            bill, road = _issue(desk, facts, row)
            bills.append(bill)
            roads.append(road)
            facts.issued[row.record.bill_no] = (row.fingerprint, road["answer"])
            batch.results.append(Result(row.line, row.record.bill_no, road["answer"], new=True))
    if bills:
        # Core executemany: the ORM's bulk insert costs more than the statement itself here.
        session.execute(insert(_table(Bill)), bills)
        session.execute(insert(_table(RoadsideBill)), roads)
    return batch


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _read_facts(session: Session, scopes: list[str], rows: Sequence[Checked]) -> _Facts:
    issued = repository.issued(session, {row.record.bill_no for row in rows})
    days: dict[str, set[tuple[str, date]]] = {}
    holdings: dict[str, dict[tuple[str, str], list[repository.Holding]]] = {}
    for scope_id in scopes:
        mine = [row for row in rows if row.segment.scope_id == scope_id]
        motorcycles = {row.plate for row in mine if row.binding_type == "motorcycle"}
        days[scope_id] = repository.live_motorcycle_days(session, scope_id, motorcycles)
        keys = {(row.binding_type, row.plate) for row in mine}
        holdings[scope_id] = repository.holdings(session, scope_id, keys)
    return _Facts(issued, days, holdings)


def _replay(batch: Batch, row: Checked, fingerprint: str, answer: dict[str, Any]) -> None:
    if fingerprint == row.fingerprint:
        batch.results.append(Result(row.line, row.record.bill_no, answer, new=False))
        return
    error = BillNumberReused(
        f"bill {row.record.bill_no} was issued for another bill", bill_no=row.record.bill_no
    )
    batch.rejections.append(Rejection(row.line, row.record.bill_no, error))


def _issue(desk: Desk, facts: _Facts, row: Checked) -> tuple[dict[str, Any], dict[str, Any]]:
    """The new bill's rows (bills, roadside_bills), its charge when auto-paid."""
    scope_id = row.segment.scope_id
    void_reason = None
    if row.binding_type == "motorcycle":
        day = (row.plate, row.billing_day)
        if day in facts.days[scope_id]:
            void_reason = f"second motorcycle bill of {row.plate} on {row.billing_day.isoformat()}"
        facts.days[scope_id].add(day)
    holder = repository.holder_at(
        facts.holdings[scope_id].get((row.binding_type, row.plate), []), row.record.issued_at
    )
    auto_pay = (
        void_reason is None
        and row.amount > 0
        and holder is not None
        and holder.agent_active
        and may_auto_pay(row.due_at, desk.now)
    )
    bill = _bill_values(desk.now, row, void_reason)
    if auto_pay:
        assert holder is not None
        bill["charge_id"] = _charge(desk, row, holder.agent_id).id
    road = _road_values(desk, row, bill["id"], holder.agent_id if auto_pay and holder else None)
    road["answer"] = bill_out(bill, road).model_dump(mode="json")
    if road["agent_id"] is not None:
        events.tell(
            desk.session,
            desk.now,
            "bill.issued",
            agent_id=road["agent_id"],
            bill_no=row.record.bill_no,
            effective_at=row.record.issued_at,
            data=road["answer"],
        )
    return bill, road


def _charge(desk: Desk, row: Checked, agent_id: str) -> Any:
    record = row.record
    return request_charge(
        desk.session,
        desk.now,
        agent_id=agent_id,
        scope_id=row.segment.scope_id,
        vehicle_type=row.binding_type,
        plate=row.plate,
        amount=row.amount,
        source=SOURCE,
        source_id=record.bill_no,
        place=row.segment.name,
        started_at=record.started_at,
        ended_at=record.ended_at,
    )


def _bill_values(now: datetime, row: Checked, void_reason: str | None) -> dict[str, Any]:
    free = row.amount == 0 and void_reason is None  # nothing to collect: paid, never owed
    status = "void" if void_reason is not None else "paid" if free else "unpaid"
    record = row.record
    return {
        "id": uuid.uuid4(),
        "vehicle_type": row.binding_type,
        "plate": row.plate,
        "amount": row.amount,
        "surcharge": 0,
        "kind": KIND,
        "reason": REASON,
        "status": status,
        "source": SOURCE,
        "source_id": record.bill_no,
        "charge_id": None,
        "place": row.segment.name,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "issued_at": record.issued_at,
        "due_at": row.due_at,
        "reminded_at": None,
        "paid_at": now if free else None,
        "payment_reference": NOTHING_TO_COLLECT if free else None,
        "paid_by": None,
        "voided_at": now if void_reason is not None else None,
        "void_reason": void_reason,
        "created_at": created_at_default(),
    }


def _road_values(
    desk: Desk, row: Checked, bill_id: uuid.UUID, agent_id: str | None
) -> dict[str, Any]:
    return {
        "bill_no": row.record.bill_no,
        "bill_id": bill_id,
        "scope_id": row.segment.scope_id,
        "segment_id": row.segment.id,
        "vehicle_type": row.record.vehicle_type,
        "binding_type": row.binding_type,
        "plate": row.plate,
        "billing_day": row.billing_day,
        "issuer": desk.issuer,
        "agent_id": agent_id,
        "fingerprint": row.fingerprint,
        "surcharged_at": None,
        "created_at": created_at_default(),
    }


def issue_one(session: Session, now: datetime, actor: Actor, record: BillRecord) -> Result:
    """One bill from a warden's handheld or a meter (``actor``): issued, or its first answer
    when replayed; refused as a whole otherwise."""
    desk = Desk(session, now, issuer=f"{actor.type}:{actor.id}")
    batch = issue_batch(desk, [check(desk, 1, record)])
    if batch.rejections:
        raise batch.rejections[0].error
    (result,) = batch.results
    if result.new:
        answer = result.answer
        audit.record(
            session,
            actor,
            now,
            "roadside.bill_issue",
            scope_id=answer["scope"],
            vehicle_type=answer["vehicle_type"],
            plate=answer["plate"],
            object_id=result.bill_no,
            detail={"status": answer["status"], "amount": answer["amount"]},
        )
    return result
