"""Billing's part of the daily job (``platebind cycle run``): decline the charges nobody
settled in 48 hours. Runs in the caller's transaction; safe to run again (it finds nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from platebind.billing import charges
from platebind.registry.audit import SYSTEM, Actor


@dataclass(frozen=True)
class DailySummary:
    declined_unsettled: int  # charges declined with reason "unsettled"
    bills_issued: int  # their bills (one per charge unless the plate already had it)

    def as_dict(self) -> dict[str, int]:
        return {"declined_unsettled": self.declined_unsettled, "bills_issued": self.bills_issued}


def run_daily(session: Session, now: datetime, *, actor: Actor = SYSTEM) -> DailySummary:
    expiry = charges.expire_unsettled(session, now, actor=actor)
    return DailySummary(expiry.declined, expiry.billed)
