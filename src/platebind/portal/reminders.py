"""Bill reminders: a member who asks for them gets a notice and an e-mail three days before a
bill of a plate on their list is due (once per bill and member)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platebind.portal.bills import member_bills
from platebind.portal.models import BillReminder, Member, Notice, OutgoingEmail
from platebind.portal.templating import render, translate

BILL_DUE_SOON = "bill_due_soon"
REMIND_BEFORE = timedelta(days=3)


def set_bill_reminders(member: Member, wanted: bool) -> None:
    member.bill_reminders = wanted


def _already_reminded(session: Session, member: Member) -> set[object]:
    stmt = select(BillReminder.bill_id).where(BillReminder.member_id == member.id)
    return set(session.scalars(stmt))


def _params(bill: Any) -> dict[str, Any]:
    return {
        "number": bill.id.hex[:8].upper(),
        "vehicle_type": bill.vehicle_type,
        "plate": bill.plate,
        "amount": bill.total,
        "due_at": bill.due_at.isoformat(),
    }


def remind_due_bills(session: Session, now: datetime, portal_url: str) -> int:
    """Notices and queued e-mails for the bills due within ``REMIND_BEFORE``; how many."""
    members = session.scalars(select(Member).where(Member.bill_reminders.is_(True)))
    sent = 0
    for member in list(members):
        reminded = _already_reminded(session, member)
        for view in member_bills(session, member):
            bill = view.bill
            if bill.id in reminded or bill.due_at is None:
                continue
            if not now < bill.due_at <= now + REMIND_BEFORE:
                continue
            params = _params(bill)
            session.add(Notice(member_id=member.id, kind=BILL_DUE_SOON, params=params, at=now))
            session.add(BillReminder(member_id=member.id, bill_id=bill.id, sent_at=now))
            session.add(
                OutgoingEmail(
                    to_address=member.email,
                    subject=translate(member.locale, "platebind: a bill is due soon"),
                    body=render(
                        "email/notice.txt",
                        member.locale,
                        kind=BILL_DUE_SOON,
                        params=params,
                        link=f"{portal_url}/portal/bills",
                    ),  # fmt: skip
                    queued_at=now,
                    next_attempt_at=now,
                )
            )
            sent += 1
    return sent
