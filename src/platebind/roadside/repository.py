"""The queries issuing a batch of bills needs, each one statement per chunk of the batch (never
one per bill): bills already issued by number, the plates' live motorcycle bills by day, and
the plates' bindings in the scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from platebind.billing.models import Bill
from platebind.registry.models import Agent, Binding
from platebind.roadside.models import RoadsideBill

_CHUNK = 500
T = TypeVar("T")


def _chunks(items: Collection[T]) -> Iterator[list[T]]:
    ordered = list(items)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def issued(session: Session, bill_nos: Collection[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The bills among ``bill_nos`` already issued: their fingerprint and first answer."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for chunk in _chunks(bill_nos):
        stmt = select(RoadsideBill.bill_no, RoadsideBill.fingerprint, RoadsideBill.answer).where(
            RoadsideBill.bill_no.in_(chunk)
        )
        found.update((no, (fp, answer)) for no, fp, answer in session.execute(stmt))
    return found


def live_motorcycle_days(
    session: Session, scope_id: str, plates: Collection[str]
) -> set[tuple[str, date]]:
    """(plate, billing day) of the motorcycle plates' bills that are not void."""
    days: set[tuple[str, date]] = set()
    for chunk in _chunks(plates):
        stmt = (
            select(RoadsideBill.plate, RoadsideBill.billing_day)
            .join(Bill, Bill.id == RoadsideBill.bill_id)
            .where(
                RoadsideBill.scope_id == scope_id,
                RoadsideBill.binding_type == "motorcycle",
                RoadsideBill.plate.in_(chunk),
                Bill.status != "void",
            )
        )
        days.update((plate, day) for plate, day in session.execute(stmt))
    return days


@dataclass(frozen=True)
class Holding:
    agent_id: str
    agent_active: bool
    valid_from: datetime
    valid_to: datetime | None

    def holds_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


def holdings(
    session: Session, scope_id: str, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], list[Holding]]:
    """Every binding in the scope of these (binding type, plate), with its agent's status;
    who held a plate at a bill's issue time is then picked without another query."""
    found: dict[tuple[str, str], list[Holding]] = defaultdict(list)
    for chunk in _chunks(keys):
        stmt = (
            select(
                Binding.vehicle_type,
                Binding.plate,
                Binding.agent_id,
                Agent.status,
                Binding.valid_from,
                Binding.valid_to,
            )
            .join(Agent, Agent.id == Binding.agent_id)
            .where(
                Binding.scope_id == scope_id,
                tuple_(Binding.vehicle_type, Binding.plate).in_(chunk),
            )
        )
        for vehicle_type, plate, agent_id, status, valid_from, valid_to in session.execute(stmt):
            holding = Holding(agent_id, status == "active", valid_from, valid_to)
            found[(vehicle_type, plate)].append(holding)
    return found


def holder_at(found: Sequence[Holding], at: datetime) -> Holding | None:
    return next((h for h in found if h.holds_at(at)), None)


def bill_and_row(session: Session, bill_no: str) -> tuple[Bill, RoadsideBill] | None:
    stmt = (
        select(Bill, RoadsideBill)
        .join(RoadsideBill, RoadsideBill.bill_id == Bill.id)
        .where(RoadsideBill.bill_no == bill_no)
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1])
