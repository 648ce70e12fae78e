"""Public shapes of the gates: an LPR event, the gate's decision, a parking session, an
attendant's close. Shared by the API, the webhooks (``session.entered``/``session.exited``)
and the CLI. Times are ISO-8601 in Taipei time with their offset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from platebind.clock import TAIPEI
from platebind.parking.models import ParkingSession
from platebind.parking.rules import ENTRY_ACTIONS, EXIT_ACTIONS, Action, Gate
from platebind.plates import TariffClass

EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AMOUNT = 2**31 - 1  # what the amount columns hold
SessionStatus = Literal["open", "exiting", "closed"]
CloseOutcome = Literal["paid_at_station", "unpaid"]


def _storable(value: str) -> str:
    """Text both databases can store: no NUL, no lone surrogate (they cannot be encoded)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if utc < EARLIEST_EVENT:
        raise ValueError("must be in 2000 or later")
    return utc


Text = Annotated[str, AfterValidator(_storable)]
EventTime = Annotated[AwareDatetime, AfterValidator(_in_range)]


class EventIn(BaseModel):
    """One licence-plate read at a gate of the lot."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "gate2-20261127-000123",
                    "gate": "entry",
                    "plate": "ABC1234",
                    "vehicle_type": "car",
                    "at": "2026-11-27T08:00:00+08:00",
                    "confidence": 0.97,
                }
            ]
        },
    )

    event_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="Unique per lot: a repeated event gets its first answer and changes nothing.",
    )
    gate: Gate
    plate: Text = Field(
        min_length=1,
        max_length=32,
        description="As read; normalised here. A read that is not a valid plate is answered "
        "`attendant` at entry (at an exit it may still find its session by fuzzy matching).",
    )
    vehicle_type: TariffClass
    at: EventTime = Field(description="When the camera read the plate, with its offset.")
    confidence: float = Field(ge=0, le=1, description="The camera's confidence, 0 to 1.")
    decided_action: Action | None = Field(
        default=None,
        description="What the gate did by itself (an offline lot): it is recorded and billed as "
        "done. Entry: open, ticket or attendant; exit: open, pay or attendant.",
    )
    replayed: bool = Field(
        default=False, description="Posted late on purpose (an offline lot catching up)."
    )
    image_ref: Text | None = Field(
        default=None, max_length=500, description="Where the lot keeps the image, for disputes."
    )

    @model_validator(mode="after")
    def _action_fits_the_gate(self) -> EventIn:
        allowed = ENTRY_ACTIONS if self.gate is Gate.ENTRY else EXIT_ACTIONS
        if self.decided_action is not None and self.decided_action not in allowed:
            names = ", ".join(sorted(a.value for a in allowed))
            raise ValueError(f"decided_action at an {self.gate.value} gate is one of {names}")
        return self


class DecisionOut(BaseModel):
    """What the gate does, and why when it is not the plain decision (``flags``)."""

    action: Action = Field(
        description="`open` (card-free: no ticket, no payment), `ticket`, `pay` (`amount` at "
        "the pay station) or `attendant`."
    )
    session_id: str | None = Field(description="The parking session the event opened or ended.")
    amount: int | None = Field(description="The fee in TWD, at an exit (null: not known).")
    agent: str | None = Field(description="The payment agent, for a card-free session only.")
    flags: list[str] = Field(
        description="`late`, `low_confidence`, `invalid_plate`, `duplicate_entry`, "
        "`agent_suspended`, `no_open_session`, `ambiguous_match`, `fuzzy_match`, `fee_unknown`, "
        "`gate_decided`, `gate_decision_differs`, `opened_without_binding`, "
        "`left_without_paying`, `not_charged`."
    )


def _local(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(TAIPEI)


class SessionOut(BaseModel):
    """A stay in a lot: ``open`` (inside), ``exiting`` (waiting for the pay station or an
    attendant), ``closed`` (``outcome``: charged, free, paid_at_station, unpaid)."""

    id: str
    lot: str
    scope: str
    vehicle_type: TariffClass
    plate: str
    status: SessionStatus
    card_free: bool
    agent: str | None = Field(description="The agent bound at entry (card-free sessions).")
    entered_at: datetime
    exited_at: datetime | None
    exit_action: Action | None
    match: Literal["exact", "fuzzy"] | None
    exit_read: str | None = Field(description="The plate as read at the exit.")
    amount: int | None
    outcome: str | None
    charge_id: str | None
    bill_id: str | None
    flags: list[str]
    closed_at: datetime | None

    @classmethod
    def of(cls, row: ParkingSession) -> SessionOut:
        return cls(
            id=str(row.id),
            lot=row.lot_id,
            scope=row.scope_id,
            vehicle_type=TariffClass(row.vehicle_type),
            plate=row.plate,
            status=row.status,
            card_free=row.card_free,
            agent=row.agent_id,
            entered_at=row.entered_at.astimezone(TAIPEI),
            exited_at=_local(row.exited_at),
            exit_action=None if row.exit_action is None else Action(row.exit_action),
            match=row.match,
            exit_read=row.exit_read,
            amount=row.amount,
            outcome=row.outcome,
            charge_id=None if row.charge_id is None else str(row.charge_id),
            bill_id=None if row.bill_id is None else str(row.bill_id),
            flags=list(row.flags),
            closed_at=_local(row.closed_at),
        )


class CloseIn(BaseModel):
    """An attendant's close of a session the gate could not settle."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "unpaid", "amount": 75}]},
    )

    outcome: CloseOutcome = Field(
        description="`paid_at_station`, or `unpaid`: the plate gets an unpaid bill of `amount`."
    )
    amount: int = Field(ge=0, le=MAX_AMOUNT, description="The fee in TWD.")
