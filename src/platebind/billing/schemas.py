"""Public shapes of charges, bills and statements, shared by the API, the CLI and webhooks.

Times are ISO-8601 in Taipei time with their offset, like every other answer; amounts are
integer TWD.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from platebind.billing.models import Bill, Charge
from platebind.clock import TAIPEI

ChargeStatus = Literal["requested", "paid", "declined"]
Outcome = Literal["paid", "declined"]
LineKind = Literal["paid", "declined", "correction"]


def _local(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(TAIPEI)


class ChargeOut(BaseModel):
    """A charge: what the agent is asked to pay for one card-free stay (or a correction)."""

    model_config = ConfigDict(frozen=True)

    id: str
    agent: str
    scope: str
    vehicle_type: str
    plate: str
    amount: int = Field(description="TWD; negative for a correction.")
    status: ChargeStatus
    source: str = Field(description="What it is for: `session` (a lot stay), later others.")
    source_id: str
    corrects_charge_id: str | None = Field(
        description="Set on a correction: the charge it corrects."
    )
    place: str | None
    started_at: datetime | None
    ended_at: datetime | None
    match: Literal["exact", "fuzzy"] = Field(
        description="`fuzzy`: the exit read matched the stay only allowing LPR confusions; "
        "`raw_plate` is what the camera read."
    )
    raw_plate: str | None
    requested_at: datetime
    settled_at: datetime | None
    reference: str | None
    reason: str | None

    @classmethod
    def of(cls, charge: Charge) -> ChargeOut:
        return cls(
            id=str(charge.id),
            agent=charge.agent_id,
            scope=charge.scope_id,
            vehicle_type=charge.vehicle_type,
            plate=charge.plate,
            amount=charge.amount,
            status=charge.status,
            source=charge.source,
            source_id=charge.source_id,
            corrects_charge_id=(
                None if charge.corrects_charge_id is None else str(charge.corrects_charge_id)
            ),
            place=charge.place,
            started_at=_local(charge.started_at),
            ended_at=_local(charge.ended_at),
            match=charge.match,
            raw_plate=charge.raw_plate,
            requested_at=_local(charge.requested_at),
            settled_at=_local(charge.settled_at),
            reference=charge.reference,
            reason=charge.reason,
        )


class ChargePage(BaseModel):
    items: list[ChargeOut] = Field(description="In the order they were requested.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class SettleRequest(BaseModel):
    """The agent's answer to a charge."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"outcome": "paid", "reference": "cmj-tx-20261126-0001"},
                {"outcome": "declined", "reason": "card_expired"},
            ]
        },
    )

    outcome: Outcome
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Your payment reference; required when `outcome` is `paid`.",
    )
    reason: str | None = Field(
        default=None, min_length=1, max_length=200, description="Why it was declined."
    )


class BillOut(BaseModel):
    id: str
    vehicle_type: str
    plate: str
    amount: int
    kind: str
    reason: str
    status: str
    place: str | None
    started_at: datetime | None
    ended_at: datetime | None
    issued_at: datetime
    due_at: datetime | None
    paid_at: datetime | None
    payment_reference: str | None
    charge_id: str | None

    @classmethod
    def of(cls, bill: Bill) -> BillOut:
        return cls(
            id=str(bill.id),
            vehicle_type=bill.vehicle_type,
            plate=bill.plate,
            amount=bill.amount,
            kind=bill.kind,
            reason=bill.reason,
            status=bill.status,
            place=bill.place,
            started_at=_local(bill.started_at),
            ended_at=_local(bill.ended_at),
            issued_at=_local(bill.issued_at),
            due_at=_local(bill.due_at),
            paid_at=_local(bill.paid_at),
            payment_reference=bill.payment_reference,
            charge_id=None if bill.charge_id is None else str(bill.charge_id),
        )


class StatementLineOut(BaseModel):
    """One line: a charge paid or declined, or a correction made, at `at`."""

    at: datetime
    kind: LineKind
    charge_id: str
    corrects_charge_id: str | None
    source: str
    source_id: str
    vehicle_type: str
    plate: str
    place: str | None
    started_at: datetime | None
    ended_at: datetime | None
    amount: int
    reference: str | None
    reason: str | None


class KindTotal(BaseModel):
    count: int
    amount: int


class StatementTotals(BaseModel):
    paid: KindTotal
    declined: KindTotal = Field(description="Not collected from the agent: billed to the plate.")
    correction: KindTotal = Field(description="Negative: credited to the agent.")
    net: int = Field(description="`paid.amount + correction.amount`: what the agent owes.")
    lines: int


class StatementOut(BaseModel):
    """A settlement statement (the JSON rendering; streamed, totals after the lines)."""

    agent: str
    date: date
    timezone: Literal["Asia/Taipei"]
    starts_at: datetime
    ends_at: datetime
    final: bool = Field(
        description="True once the day is over (and nothing begun in it can still commit): "
        "the statement will never change."
    )
    currency: Literal["TWD"]
    lines: list[StatementLineOut]
    totals: StatementTotals


class LineDifference(BaseModel):
    ours: str | int | None
    theirs: str | int | None


class MismatchedLine(BaseModel):
    charge_id: str
    kind: str
    line: int = Field(description="The line of the uploaded CSV (the header is line 1).")
    differences: dict[str, LineDifference]


class ExtraLine(BaseModel):
    charge_id: str
    kind: str
    line: int
    amount: int
    duplicate: bool = Field(description="The same charge and kind appear earlier in the upload.")
    found_on: date | None = Field(
        description="The day this line is on in our books, when it is on another day."
    )


class ReconcileReport(BaseModel):
    agent: str
    date: date
    final: bool
    ours: int = Field(description="Lines in our statement of the day.")
    theirs: int = Field(description="Lines in the upload.")
    matched: int
    missing: list[StatementLineOut] = Field(description="Our lines the upload does not have.")
    extra: list[ExtraLine] = Field(description="Uploaded lines our statement does not have.")
    mismatched: list[MismatchedLine]
