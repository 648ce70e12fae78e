"""The roadside rules, pure: billing days, amounts, due dates and the overdue stages.

Taipei bills a motorcycle per entry, at most once per plate per day across the city (a second
bill the same day is voided); a car per started half hour by the segment's tariff (the fee
engine of ``tariffs``). A bill is due ``due_days`` after issue (the whole last day counts); an
unpaid bill gets a reminder once it is overdue and a surcharge (工本費) when the reminder's
notice period has passed. Overdue bills are never auto-paid: the driver may have paid by other
means meanwhile, and the agent agreed to pay bills as they are issued, not late ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from platebind.clock import TAIPEI, taipei
from platebind.plates import TariffClass
from platebind.tariffs.engine import Fee, compute_fee
from platebind.tariffs.model import Tariff


@dataclass(frozen=True)
class RoadsideRules:
    """One scope's rules; ``as_dict``/``from_dict`` keep them as JSON in the database."""

    motorcycle_per_entry: int = 20
    # A motorcycle's billing day starts at this Taipei time (midnight unless the city says).
    day_boundary: time = time(0, 0)
    due_days: int = 7
    notice_days: int = 15
    surcharge: int = 30

    def __post_init__(self) -> None:
        if self.motorcycle_per_entry < 0 or self.surcharge < 0:
            raise ValueError("prices and surcharges cannot be negative")
        if not 0 < self.due_days <= 90 or not 0 < self.notice_days <= 90:
            raise ValueError("due and notice periods are 1-90 days")

    def as_dict(self) -> dict[str, Any]:
        return {
            "motorcycle_per_entry": self.motorcycle_per_entry,
            "day_boundary": self.day_boundary.strftime("%H:%M"),
            "due_days": self.due_days,
            "notice_days": self.notice_days,
            "surcharge": self.surcharge,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RoadsideRules:
        values = dict(doc)
        if "day_boundary" in values:
            values["day_boundary"] = time.fromisoformat(values["day_boundary"])
        return cls(**values)


class Stage(StrEnum):
    """Where an unpaid bill stands on the way from issue to surcharge."""

    OPEN = "open"  # within its due date
    OVERDUE = "overdue"  # past due, no reminder yet
    REMINDED = "reminded"  # reminder sent, notice period running
    SURCHARGE_DUE = "surcharge_due"  # notice period over, surcharge not yet added
    SURCHARGED = "surcharged"


def billing_day(at: datetime, boundary: time) -> date:
    """The Taipei day a stay at ``at`` belongs to, days starting at ``boundary``."""
    local = taipei(at)
    day = local.date()
    return day - timedelta(days=1) if local.time() < boundary else day


def due_at(issued_at: datetime, rules: RoadsideRules) -> datetime:
    """The end of the ``due_days``-th Taipei day after issue: paying before it is on time."""
    last_day = taipei(issued_at).date() + timedelta(days=rules.due_days)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=TAIPEI)


def surcharge_at(reminded_at: datetime, rules: RoadsideRules) -> datetime:
    """When the reminder's notice period ends (the surcharge is added from then)."""
    last_day = taipei(reminded_at).date() + timedelta(days=rules.notice_days)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=TAIPEI)


def reminded_before_for_surcharge(now: datetime, rules: RoadsideRules) -> datetime:
    """The daily job's cut-off: a bill reminded before it has its surcharge due at ``now``
    (``surcharge_at(reminded_at) <= now``, as one comparison a query can use)."""
    today = taipei(now).date()
    return datetime.combine(today - timedelta(days=rules.notice_days), time(0, 0), tzinfo=TAIPEI)


def stage(
    due: datetime,
    reminded_at: datetime | None,
    surcharged_at: datetime | None,
    now: datetime,
    rules: RoadsideRules,
) -> Stage:
    """An unpaid bill's stage at ``now``."""
    if surcharged_at is not None:
        return Stage.SURCHARGED
    if reminded_at is not None:
        return Stage.SURCHARGE_DUE if now >= surcharge_at(reminded_at, rules) else Stage.REMINDED
    return Stage.OVERDUE if now >= due else Stage.OPEN


def may_auto_pay(due: datetime, now: datetime) -> bool:
    """Only a bill within its due date is sent to the bound agent."""
    return now < due


def car_fee(tariff: Tariff, started_at: datetime, ended_at: datetime) -> Fee:
    """Per started half hour (or whatever the segment's tariff says) by the fee engine."""
    return compute_fee(tariff, TariffClass.CAR, started_at, ended_at)


def is_second_motorcycle_bill(
    started_at: datetime, billed_days: set[date], rules: RoadsideRules
) -> bool:
    """Whether the plate already has a live motorcycle bill on this billing day."""
    return billing_day(started_at, rules.day_boundary) in billed_days
