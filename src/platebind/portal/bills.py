"""我的帳單: the unpaid bills of the plates on a member's list, and paying them.

Who sees what (DESIGN "Portal"): any member with the plate on their list sees a bill's number,
amount, due date and status, so a family member can pay it; the place and time of the stay are
the plate owner's only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from platebind.billing import bills
from platebind.billing.bills import Payment, PaymentStep
from platebind.billing.errors import BillNotFound
from platebind.billing.models import Bill
from platebind.portal.accounts import owns
from platebind.portal.models import Member
from platebind.portal.service import citizen, my_plates
from platebind.registry.service import PlateKey

BILL_KINDS = ("lot", "roadside")


@dataclass(frozen=True)
class BillView:
    bill: Bill
    owned: bool  # the member owns the plate: place and time may be shown

    @property
    def number(self) -> str:
        """A short number to quote on the phone (the id's first 8 hex digits)."""
        return self.bill.id.hex[:8].upper()


def _listed(session: Session, member: Member) -> set[tuple[str, str]]:
    return {(p.vehicle_type, p.plate) for p in my_plates(session, member)}


def member_bills(
    session: Session,
    member: Member,
    *,
    kind: str | None = None,
    status: str | None = "unpaid",
    plate: PlateKey | None = None,
) -> list[BillView]:
    """The bills of the member's listed plates (or of ``plate``, when it is listed), oldest
    first, optionally of one kind."""
    listed = _listed(session, member)
    if plate is not None:
        wanted = (plate.vehicle_type, plate.plate)
        listed = {wanted} & listed
    found = bills.bills_of_plates(session, listed, status=status)
    return [
        BillView(b, owns(session, member, b.vehicle_type, b.plate))
        for b in found
        if kind is None or b.kind == kind
    ]


def pay(
    session: Session,
    now: datetime,
    member: Member,
    bill_id: uuid.UUID,
    step: PaymentStep,
    request_id: str,
) -> Payment:
    """Pay a bill of a plate on the member's list (any other bill is ``bill_not_found``)."""
    bill = bills.get_bill(session, bill_id)
    if (bill.vehicle_type, bill.plate) not in _listed(session, member):
        raise BillNotFound(f"no bill {bill_id} among your plates")
    return bills.pay_bill(
        session,
        now,
        citizen(member, request_id),
        bill_id,
        payer=f"member:{member.id}",
        step=step,
    )
