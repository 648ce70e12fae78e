"""Public shapes of roadside bills: what a warden or meter posts, and the bill as answered,
sent in webhooks (``bill.issued``, ``bill.overdue``, ``bill.paid``) and printed by the CLI.

Times are ISO-8601 in Taipei time with their offset, like every other answer; amounts are
integer TWD.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from platebind.billing.models import Bill
from platebind.clock import TAIPEI
from platebind.plates import TariffClass
from platebind.roadside.models import RoadsideBill

BILL_NO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
SEGMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
MAX_AMOUNT = 1_000_000
# Times outside these years are typing mistakes (and would overflow time-zone arithmetic).
FIRST_YEAR, LAST_YEAR = 2000, 2099


def check_year(at: datetime) -> datetime:
    if not FIRST_YEAR <= at.year <= LAST_YEAR:
        raise ValueError(f"times are between {FIRST_YEAR} and {LAST_YEAR}")
    return at


class BillIn(BaseModel):
    """A roadside bill as a warden's handheld or a smart meter issues it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "bill_no": "TPE20261126000123",
                "vehicle_type": "car",
                "plate": "ABC-1234",
                "segment": "ZX0401",
                "started_at": "2026-11-26T10:00:00+08:00",
                "ended_at": "2026-11-26T11:10:00+08:00",
                "issued_at": "2026-11-26T11:15:00+08:00",
            }
        },
    )

    bill_no: str = Field(pattern=BILL_NO_PATTERN, description="The bill's number (停車單號).")
    vehicle_type: TariffClass
    plate: str = Field(min_length=1, max_length=32)
    segment: str = Field(pattern=SEGMENT_PATTERN, description="The street segment's id.")
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = Field(
        default=None, description="Required for a car whose `amount` is not given."
    )
    amount: int | None = Field(
        default=None,
        ge=0,
        le=MAX_AMOUNT,
        description="TWD; default: a motorcycle's per-entry price, a car's fee by the "
        "segment's tariff.",
    )
    issued_at: AwareDatetime
    due_at: AwareDatetime | None = Field(
        default=None, description="Default: the end of the scope's `due_days`-th day after issue."
    )

    @field_validator("started_at", "ended_at", "issued_at", "due_at")
    @classmethod
    def _plausible(cls, at: datetime | None) -> datetime | None:
        return None if at is None else check_year(at)


class AutoPay(BaseModel):
    agent: str = Field(description="The agent bound in the scope when the bill was issued.")
    charge_id: str


class RoadsideBillOut(BaseModel):
    """A roadside bill: its money (amount, surcharge, status) and where it stands."""

    bill_no: str
    bill_id: str = Field(description="The bill as the portal's 我的帳單 lists it.")
    status: Literal["unpaid", "paid", "void"]
    scope: str
    segment: str
    place: str = Field(description="The segment's name.")
    vehicle_type: str
    plate: str
    started_at: datetime
    ended_at: datetime | None
    amount: int
    surcharge: int = Field(description="工本費, owed on top of `amount` once added.")
    issued_at: datetime
    due_at: datetime
    reminded_at: datetime | None
    surcharged_at: datetime | None
    paid_at: datetime | None
    void_reason: str | None
    auto_pay: AutoPay | None = Field(
        description="Set when the bill was sent to the plate's agent as a charge."
    )


def _local(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(TAIPEI)


def bill_out(bill: Mapping[str, Any], road: Mapping[str, Any]) -> RoadsideBillOut:
    """The shape of a bill from its ``bills`` and ``roadside_bills`` values (rows being
    written, or :func:`values_of` loaded ones)."""
    charge_id = bill["charge_id"]
    auto_pay = None
    if charge_id is not None and road["agent_id"] is not None:
        auto_pay = AutoPay(agent=road["agent_id"], charge_id=str(charge_id))
    return RoadsideBillOut(
        bill_no=road["bill_no"],
        bill_id=str(bill["id"]),
        status=bill["status"],
        scope=road["scope_id"],
        segment=road["segment_id"],
        place=bill["place"],
        vehicle_type=road["vehicle_type"],
        plate=bill["plate"],
        started_at=_local(bill["started_at"]),
        ended_at=_local(bill["ended_at"]),
        amount=bill["amount"],
        surcharge=bill["surcharge"],
        issued_at=_local(bill["issued_at"]),
        due_at=_local(bill["due_at"]),
        reminded_at=_local(bill["reminded_at"]),
        surcharged_at=_local(road["surcharged_at"]),
        paid_at=_local(bill["paid_at"]),
        void_reason=bill["void_reason"],
        auto_pay=auto_pay,
    )


def values_of(row: Bill | RoadsideBill) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def loaded_bill_out(bill: Bill, road: RoadsideBill) -> RoadsideBillOut:
    return bill_out(values_of(bill), values_of(road))


class RulesOut(BaseModel):
    scope: str
    motorcycle_per_entry: int
    day_boundary: str
    due_days: int
    notice_days: int
    surcharge: int


class SegmentOut(BaseModel):
    id: str
    scope: str
    name: str
    payex: str
    car_tariff: dict[str, Any]
