"""Checking one bill as sent, before anything is written: its plate, segment, times, amount
and due date. The same checks for a warden's post and an imported file's line."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from platebind import plates
from platebind.errors import DomainError
from platebind.plates import TariffClass
from platebind.registry.errors import InvalidPlateError
from platebind.roadside import service
from platebind.roadside.errors import RoadsideBillInvalid
from platebind.roadside.models import RoadsideSegment
from platebind.roadside.rules import RoadsideRules, billing_day, car_fee, due_at
from platebind.roadside.schemas import BILL_NO_PATTERN, MAX_AMOUNT, SEGMENT_PATTERN, check_year
from platebind.tariffs.model import Tariff, tariff_from_json


@dataclass(frozen=True)
class BillRecord:
    """One bill as a warden, a meter or a file's line sends it, not yet checked."""

    bill_no: str
    vehicle_type: str
    plate: str
    segment: str
    started_at: datetime
    ended_at: datetime | None
    amount: int | None
    issued_at: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class Segment:
    id: str
    scope_id: str
    name: str
    tariff: Tariff


class Desk:
    """Where bills are issued: the session, ``now``, the issuer, and the segments and rules
    they need (each read once per desk)."""

    def __init__(self, session: Session, now: datetime, issuer: str) -> None:
        self.session = session
        self.now = now
        self.issuer = issuer
        self._segments: dict[str, Segment | None] = {}
        self._rules: dict[str, RoadsideRules] = {}

    def segment(self, segment_id: str) -> Segment:
        if segment_id not in self._segments:
            row = None
            if re.match(SEGMENT_PATTERN, segment_id):
                row = self.session.get(RoadsideSegment, segment_id)
            self._segments[segment_id] = (
                None
                if row is None
                else Segment(row.id, row.scope_id, row.name, tariff_from_json(row.tariff))
            )
        found = self._segments[segment_id]
        if found is None:
            raise RoadsideBillInvalid(f"no roadside segment {segment_id!r}", field="segment")
        return found

    def rules(self, scope_id: str) -> RoadsideRules:
        if scope_id not in self._rules:
            self._rules[scope_id] = service.get_rules(self.session, scope_id)
        return self._rules[scope_id]


@dataclass(frozen=True)
class Checked:
    """A bill that can be issued: its plate's identity, amount, due date and billing day."""

    line: int
    record: BillRecord
    binding_type: str
    plate: str
    segment: Segment
    amount: int
    due_at: datetime
    billing_day: date
    fingerprint: str


def check(desk: Desk, line: int, record: BillRecord) -> Checked:
    """The bill made ready to issue, or the refusal (``invalid_plate``,
    ``roadside_bill_invalid`` with the field)."""
    if not re.match(BILL_NO_PATTERN, record.bill_no):
        raise RoadsideBillInvalid(
            "a bill number is 1-40 letters, digits, '-' or '_'", field="bill_no"
        )
    tariff_class = _tariff_class(record.vehicle_type)
    try:
        plate = plates.canonical_plate(record.plate, tariff_class.value)
    except plates.InvalidPlate as exc:
        raise InvalidPlateError(str(exc), plate=record.plate) from exc
    _check_times(record)
    segment = desk.segment(record.segment)
    rules = desk.rules(segment.scope_id)
    amount = _amount(record, tariff_class, segment, rules)
    due = record.due_at if record.due_at is not None else due_at(record.issued_at, rules)
    if due <= record.issued_at:
        raise RoadsideBillInvalid("due_at must be after issued_at", field="due_at")
    return Checked(
        line=line,
        record=record,
        binding_type=plates.binding_type(tariff_class.value).value,
        plate=plate,
        segment=segment,
        amount=amount,
        due_at=due,
        billing_day=billing_day(record.started_at, rules.day_boundary),
        fingerprint=_fingerprint(record, plate),
    )


def _tariff_class(vehicle_type: str) -> TariffClass:
    try:
        return TariffClass(vehicle_type)
    except ValueError:
        accepted = ", ".join(c.value for c in TariffClass)
        raise RoadsideBillInvalid(
            f"vehicle_type must be one of {accepted}", field="vehicle_type"
        ) from None


def _check_times(record: BillRecord) -> None:
    named = {"started_at": record.started_at, "ended_at": record.ended_at}
    named |= {"issued_at": record.issued_at, "due_at": record.due_at}
    for name, at in named.items():
        try:
            if at is not None:
                check_year(at)
        except ValueError as exc:
            raise RoadsideBillInvalid(f"{name}: {exc}", field=name) from exc
    if record.ended_at is not None and record.ended_at < record.started_at:
        raise RoadsideBillInvalid("ended_at is before started_at", field="ended_at")
    if record.issued_at < record.started_at:
        raise RoadsideBillInvalid("issued_at is before started_at", field="issued_at")


def _amount(
    record: BillRecord, tariff_class: TariffClass, segment: Segment, rules: RoadsideRules
) -> int:
    if record.amount is not None:
        if not 0 <= record.amount <= MAX_AMOUNT:
            raise RoadsideBillInvalid(f"amount must be 0-{MAX_AMOUNT} TWD", field="amount")
        return record.amount
    if tariff_class is not TariffClass.CAR:
        return rules.motorcycle_per_entry
    if record.ended_at is None:
        raise RoadsideBillInvalid("a car's bill without amount needs ended_at", field="ended_at")
    return car_fee(segment.tariff, record.started_at, record.ended_at).amount


def _fingerprint(record: BillRecord, plate: str) -> str:
    """What the bill says, so the same bill sent again is recognised (its plate as read)."""

    def at(value: datetime | None) -> str:
        return "" if value is None else value.timestamp().hex()

    parts = [
        record.vehicle_type,
        plate,
        record.segment,
        at(record.started_at),
        at(record.ended_at),
        "" if record.amount is None else str(record.amount),
        at(record.issued_at),
        at(record.due_at),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def rejection_of(exc: DomainError) -> dict[str, str]:
    """A refused bill's code and reason, as an import report lists them."""
    return {"code": exc.code, "reason": exc.detail}
