"""What an agent's answer to a roadside charge means (registered with billing's
``on_settle``, so billing never imports roadside):

- ``paid``: the bill is paid by the agent (``paid_by`` ``agent:<id>``, the agent's
  reference) and the agent is told (``bill.paid``). If the bill was paid meanwhile — the
  driver paid it in the portal — or voided, the agent's payment is refunded at once by a
  correction (a negative charge, ``charge.corrected``): a bill is never paid twice.
- ``declined`` (by the agent, or after 48 hours unanswered): nothing more. The issued bill
  stays unpaid with its due date, payable in the portal; no second bill is made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from platebind.billing import bills, charges
from platebind.billing.errors import BillVoid
from platebind.billing.models import Charge
from platebind.registry.audit import SYSTEM, Actor
from platebind.roadside import events, repository
from platebind.roadside.issuing import SOURCE
from platebind.roadside.schemas import loaded_bill_out

REFUND_REASON = "the roadside bill was already paid or void when the agent paid it"


def install() -> None:
    """Register the handler; idempotent. Every process that may settle a roadside charge
    calls it: the API app, the CLI (``cycle run`` expires charges), the tests."""
    charges.on_settle(SOURCE, on_settled)


def on_settled(session: Session, now: datetime, charge: Charge) -> None:
    if charge.status != "paid":
        return  # the issued bill stays as it is: unpaid, payable in the portal
    found = repository.bill_and_row(session, charge.source_id)
    if found is None:  # a roadside charge is always made with its bill
        raise LookupError(f"no roadside bill {charge.source_id} for charge {charge.id}")
    bill, road = found
    payer = f"agent:{charge.agent_id}"
    try:
        payment = bills.pay_bill(
            session,
            now,
            Actor("agent", charge.agent_id),
            bill.id,
            payer=payer,
            step=bills.RecordedPayment(charge.reference),
        )
    except BillVoid:
        payment = None
    if payment is None or not payment.paid_now:
        charges.correct(
            session, now, SYSTEM, charge_id=charge.id, amount=-charge.amount, reason=REFUND_REASON
        )
        return
    events.tell(
        session,
        now,
        "bill.paid",
        agent_id=charge.agent_id,
        bill_no=road.bill_no,
        effective_at=now,
        data=loaded_bill_out(payment.bill, road).model_dump(mode="json"),
    )
