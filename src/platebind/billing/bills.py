"""Bills: money a plate owes directly, shown in the portal's 我的帳單 and paid there.

A bill comes from a declined charge or from an exit paid neither card-free nor at the pay
station; one per (source, source_id, reason), so a replay finds the first. Paying goes through
a pluggable :class:`PaymentStep`; paying a paid bill again is idempotent: the bill comes back
unchanged and the step is not run again (nobody is charged twice). Services never commit.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from platebind import plates
from platebind.billing.errors import BillAlreadyPaid, BillNotFound, BillVoid
from platebind.billing.models import BILL_KINDS, Bill, Charge
from platebind.db import created_at_default, dialect_insert
from platebind.errors import InvalidInput
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.registry.errors import InvalidPlateError

REASONS = ("declined", "unpaid_exit")
NOTHING_TO_COLLECT = "nothing-to-collect"
# Which kind of bill a declined charge becomes, by what the charge was for.
KIND_OF_SOURCE = {"session": "lot", "roadside_bill": "roadside"}
_IN_CHUNK = 500


class PaymentStep(Protocol):
    """Collects a bill's money (``bill.total``: its amount and any surcharge). Returns the
    payment reference to record; raises ``PaymentFailed`` (nothing is recorded then). Runs
    while the bill's row is locked, so two payments of one bill never both reach it."""

    def collect(self, bill: Bill, *, payer: str, now: datetime) -> str: ...


class RecordedPayment:
    """The built-in step: the money was taken elsewhere (a counter, a bank transfer); it
    records ``reference`` or, without one, a new unique reference ``rec-…``."""

    def __init__(self, reference: str | None = None) -> None:
        if reference is not None and not 0 < len(reference) <= 100:
            raise InvalidInput("a payment reference is 1-100 characters", field="reference")
        self.reference = reference

    def collect(self, bill: Bill, *, payer: str, now: datetime) -> str:
        return self.reference or f"rec-{secrets.token_hex(8)}"


def _identity(vehicle_type: str, plate: str) -> tuple[str, str]:
    try:
        return plates.binding_type(vehicle_type).value, plates.canonical_plate(plate, vehicle_type)
    except (plates.InvalidPlate, ValueError) as exc:
        raise InvalidPlateError(str(exc), plate=plate, vehicle_type=vehicle_type) from exc


def _bill_values(
    now: datetime,
    *,
    vehicle_type: str,
    plate: str,
    amount: int,
    kind: str,
    reason: str,
    source: str,
    source_id: str,
    place: str | None,
    started_at: datetime | None,
    ended_at: datetime | None,
    due_at: datetime | None,
    charge_id: uuid.UUID | None,
) -> dict[str, Any]:
    if kind not in BILL_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(BILL_KINDS)}", field="kind")
    if reason not in REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(REASONS)}", field="reason")
    if amount < 0:
        raise InvalidInput("a bill's amount is at least 0", field="amount")
    free = amount == 0  # nothing to collect: recorded as paid, never shown as owed
    return {
        "id": uuid.uuid4(),
        "vehicle_type": vehicle_type,
        "plate": plate,
        "amount": amount,
        "kind": kind,
        "reason": reason,
        "status": "paid" if free else "unpaid",
        "source": source,
        "source_id": source_id,
        "charge_id": charge_id,
        "place": place,
        "started_at": started_at,
        "ended_at": ended_at,
        "issued_at": now,
        "due_at": due_at,
        "paid_at": now if free else None,
        "payment_reference": NOTHING_TO_COLLECT if free else None,
        "created_at": created_at_default(),
    }


def _insert_bills(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert, skipping any (source, source_id, reason) already billed; how many were new."""
    stmt = (
        dialect_insert(session)(Bill.__table__)
        .on_conflict_do_nothing(index_elements=["source", "source_id", "reason"])
        .returning(Bill.__table__.c.id)
    )
    return len(session.execute(stmt, list(rows)).all()) if rows else 0


def open_bill(
    session: Session,
    now: datetime,
    *,
    vehicle_type: str,
    plate: str,
    amount: int,
    kind: str,
    reason: str,
    source: str,
    source_id: str,
    place: str | None,
    started_at: datetime | None,
    ended_at: datetime | None,
    due_at: datetime | None = None,
    charge_id: uuid.UUID | None = None,
) -> Bill:
    """The plate's bill for ``(source, source_id, reason)``, issued now or found as it was.
    An amount of 0 is recorded as paid (``nothing-to-collect``): the plate owes nothing."""
    identity, canonical = _identity(vehicle_type, plate)
    values = _bill_values(
        now,
        vehicle_type=identity,
        plate=canonical,
        amount=amount,
        kind=kind,
        reason=reason,
        source=source,
        source_id=source_id,
        place=place,
        started_at=started_at,
        ended_at=ended_at,
        due_at=due_at,
        charge_id=charge_id,
    )
    return _upsert_bill(session, values)


def _upsert_bill(session: Session, values: dict[str, Any]) -> Bill:
    stmt = (
        dialect_insert(session)(Bill)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Bill.source, Bill.source_id, Bill.reason])
        .returning(Bill)
    )
    bill = session.scalars(stmt).first()
    if bill is not None:
        return bill
    found = select(Bill).where(
        Bill.source == values["source"],
        Bill.source_id == values["source_id"],
        Bill.reason == values["reason"],
    )
    return session.scalars(found).one()


def _declined_values(now: datetime, charge: Charge) -> dict[str, Any]:
    return _bill_values(
        now,
        vehicle_type=charge.vehicle_type,
        plate=charge.plate,
        amount=charge.amount,
        kind=KIND_OF_SOURCE.get(charge.source, "lot"),
        reason="declined",
        source=charge.source,
        source_id=charge.source_id,
        place=charge.place,
        started_at=charge.started_at,
        ended_at=charge.ended_at,
        due_at=None,
        charge_id=charge.id,
    )


def open_bill_for_declined(session: Session, now: datetime, charge: Charge) -> Bill:
    """The bill of a declined charge: its plate owes the charge's amount."""
    return _upsert_bill(session, _declined_values(now, charge))


def open_bills_for_declined(session: Session, now: datetime, charges: Sequence[Charge]) -> int:
    """Bills for many declined charges in one statement (the 48-hour sweep); how many new."""
    return _insert_bills(session, [_declined_values(now, c) for c in charges])


def get_bill(session: Session, bill_id: uuid.UUID, *, for_update: bool = False) -> Bill:
    bill = session.get(Bill, bill_id, with_for_update=for_update or None, populate_existing=True)
    if bill is None:
        raise BillNotFound(f"no bill {bill_id}")
    return bill


def bills_of_plates(
    session: Session, plate_ids: Iterable[tuple[str, str]], *, status: str | None = "unpaid"
) -> list[Bill]:
    """The bills of these ``(vehicle_type, plate)`` (canonical), oldest first; by default only
    the unpaid ones (what 我的帳單 lists)."""
    keys = list(dict.fromkeys(plate_ids))
    found: list[Bill] = []
    for start in range(0, len(keys), _IN_CHUNK):
        stmt = select(Bill).where(
            tuple_(Bill.vehicle_type, Bill.plate).in_(keys[start : start + _IN_CHUNK])
        )
        if status is not None:
            stmt = stmt.where(Bill.status == status)
        found += session.scalars(stmt)
    return sorted(found, key=lambda b: (b.issued_at, str(b.id)))


@dataclass(frozen=True)
class Payment:
    bill: Bill
    paid_now: bool  # False: it was already paid, and nothing was collected this time


def pay_bill(
    session: Session,
    now: datetime,
    actor: Actor,
    bill_id: uuid.UUID,
    *,
    payer: str,
    step: PaymentStep | None = None,
) -> Payment:
    """Pay the bill through ``step`` (default :class:`RecordedPayment`). A paid bill comes
    back unchanged without running the step; a void one is ``bill_void``."""
    bill = get_bill(session, bill_id, for_update=True)
    if bill.status == "paid":
        return Payment(bill, paid_now=False)
    if bill.status == "void":
        raise BillVoid(f"bill {bill_id} is void; there is nothing to pay")
    reference = (step or RecordedPayment()).collect(bill, payer=payer, now=now)
    bill.status = "paid"
    bill.paid_at = now
    bill.payment_reference = reference
    bill.paid_by = payer[:80]
    audit.record(
        session,
        actor,
        now,
        "bill.pay",
        vehicle_type=bill.vehicle_type,
        plate=bill.plate,
        object_id=str(bill.id),
        detail={"amount": bill.total, "surcharge": bill.surcharge, "reference": reference},
    )
    return Payment(bill, paid_now=True)


def void_bill(
    session: Session, now: datetime, actor: Actor, bill_id: uuid.UUID, *, reason: str
) -> Bill:
    """Cancel an unpaid bill (issued in error). Voiding it again returns it unchanged; a paid
    bill cannot be voided (``bill_already_paid``)."""
    reason = reason.strip()
    if not 0 < len(reason) <= 200:
        raise InvalidInput("voiding a bill needs a reason of 1-200 characters", field="reason")
    bill = get_bill(session, bill_id, for_update=True)
    if bill.status == "void":
        return bill
    if bill.status == "paid":
        raise BillAlreadyPaid(f"bill {bill_id} is paid and cannot be voided")
    bill.status = "void"
    bill.voided_at = now
    bill.void_reason = reason
    audit.record(
        session,
        actor,
        now,
        "bill.void",
        vehicle_type=bill.vehicle_type,
        plate=bill.plate,
        object_id=str(bill.id),
        detail={"reason": reason},
    )
    return bill
