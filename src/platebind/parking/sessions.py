"""Parking sessions apart from the gates: reading one (as its lot or its agent sees it), the
attendant's close, and the ``session.entered`` / ``session.exited`` webhooks. Sessions are
never deleted. Services never commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from platebind.billing import bills
from platebind.clock import Clock
from platebind.errors import InvalidInput
from platebind.parking.gate_errors import SessionClosed, SessionNotFound
from platebind.parking.models import Lot, ParkingSession
from platebind.parking.schemas_gate import CloseOutcome, SessionOut
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.webhooks.service import emit


def session_event(session: Session, event_type: str, row: ParkingSession, now: datetime) -> None:
    """``session.entered`` / ``session.exited`` to the agent of a card-free session, in the
    writer's transaction, with the whole session as it is now."""
    assert row.agent_id is not None
    at = row.entered_at if event_type == "session.entered" else row.exited_at
    assert at is not None
    emit(
        session,
        event_type=event_type,
        object_id=str(row.id),
        effective_at=at,
        agent_id=row.agent_id,
        payload={"type": event_type, "data": SessionOut.of(row).model_dump(mode="json")},
        now=now,
    )


def place_of(lot_id: str, name: str) -> str:
    """Where a charge or bill of the lot's session happened, as the agent and portal show it."""
    return f"{lot_id} {name}"[:200]


def get_session(
    session: Session,
    session_id: uuid.UUID,
    *,
    lot_id: str | None = None,
    agent_id: str | None = None,
    for_update: bool = False,
) -> ParkingSession:
    """The session, as a lot (its own sessions) or an agent (its card-free sessions) may see
    it; anyone else's is not found, exactly like one that does not exist."""
    row = session.get(
        ParkingSession, session_id, with_for_update=for_update or None, populate_existing=True
    )
    visible = row is not None and (lot_id is None or row.lot_id == lot_id)
    if visible and agent_id is not None:
        visible = row is not None and row.card_free and row.agent_id == agent_id
    if row is None or not visible:
        raise SessionNotFound(f"no parking session {session_id}")
    return row


def close_session(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    lot_id: str,
    session_id: uuid.UUID,
    outcome: CloseOutcome,
    amount: int,
) -> ParkingSession:
    """An attendant's (or the pay station's) close of a session the gate did not settle:
    ``paid_at_station``, or ``unpaid`` — the plate gets an unpaid bill of ``amount``, shown in
    the portal's 我的帳單.

    Idempotent: closing a closed session again the same way returns it unchanged; another
    outcome or amount is ``session_closed``. Closes of one session are serialised by its row
    lock (PostgreSQL; SQLite's writer holds the database).
    """
    now = clock.now()
    row = get_session(session, session_id, lot_id=lot_id, for_update=True)
    if row.status == "closed":
        if (row.outcome, row.amount) == (outcome, amount):
            return row
        raise SessionClosed(
            f"session {session_id} is already closed ({row.outcome}, {row.amount} TWD)",
            outcome=row.outcome,
            amount=row.amount,
        )
    if outcome == "unpaid" and amount == 0:
        raise InvalidInput("an unpaid exit owes something: amount must be at least 1")
    first_exit = row.exited_at is None
    ended_at = row.exited_at or now
    if outcome == "unpaid":
        lot = session.get(Lot, row.lot_id)
        assert lot is not None  # lots are never deleted while they have sessions (FK)
        row.bill_id = bills.open_bill(
            session, now, vehicle_type=row.vehicle_type, plate=row.plate, amount=amount,
            kind="lot", reason="unpaid_exit", source="session", source_id=str(row.id),
            place=place_of(lot.id, lot.name), started_at=row.entered_at, ended_at=ended_at,
        ).id  # fmt: skip
    row.status, row.outcome, row.amount = "closed", outcome, amount
    row.exited_at, row.closed_at = ended_at, now
    if row.card_free and first_exit:
        session_event(session, "session.exited", row, now)
    audit.record(
        session,
        actor,
        now,
        "session.close",
        vehicle_type=row.binding_type,
        plate=row.plate,
        object_id=str(row.id),
        detail={"lot": row.lot_id, "outcome": outcome, "amount": amount},
    )
    return row
