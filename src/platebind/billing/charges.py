"""Charges to agents: requested by a card-free exit, settled by the agent, corrected by the
authority, declined automatically when nobody answers for 48 hours. Services never commit.

Every settlement and every correction appends one settle event (a statement line) dated by
when it happened; a charge is never edited once settled and never deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from platebind.billing import bills
from platebind.billing.errors import (
    ChargeAlreadySettled,
    ChargeNotCorrectable,
    ChargeNotFound,
    CorrectionExceedsCharge,
)
from platebind.billing.models import MATCHES, Charge, SettleEvent
from platebind.billing.schemas import ChargeOut
from platebind.db import created_at_default, dialect_insert
from platebind.errors import InvalidInput
from platebind.registry import audit
from platebind.registry.audit import SYSTEM, Actor
from platebind.registry.service import PlateKey, plate_key
from platebind.webhooks.service import emit

NOTHING_TO_COLLECT = "nothing-to-collect"
UNSETTLED_AFTER = timedelta(hours=48)
UNSETTLED = "unsettled"
OUTCOMES = ("paid", "declined")
_EXPIRY_BATCH = 500
MAX_REASON = 200
_LIMITS = {
    "source": 20,
    "source_id": 64,
    "place": 200,
    "raw_plate": 32,
    "reference": 100,
    "reason": MAX_REASON,
}


class SettleHandler(Protocol):
    """What a settled charge means to the feature it is for, in the settle's transaction."""

    def __call__(self, session: Session, now: datetime, charge: Charge) -> None: ...


# Per charge source: the feature behind it decides what a settled (paid or declined) charge
# means, instead of the default (a declined charge becomes the plate's bill). Features
# register here so that billing never imports them (roadside bills: ``roadside.settlement``).
_SETTLE_HANDLERS: dict[str, SettleHandler] = {}


def on_settle(source: str, handler: SettleHandler) -> None:
    """Run ``handler`` whenever a charge of ``source`` is settled (registering again
    replaces it)."""
    _SETTLE_HANDLERS[source] = handler


def _after_settle(session: Session, now: datetime, charge: Charge) -> None:
    handler = _SETTLE_HANDLERS.get(charge.source)
    if handler is not None:
        handler(session, now, charge)
    elif charge.status == "declined":
        bills.open_bill_for_declined(session, now, charge)


def charge_event(session: Session, event_type: str, charge: Charge, now: datetime) -> None:
    """Tell the charge's agent (outbox, this transaction), with the whole charge as it is."""
    emit(
        session,
        event_type=event_type,
        object_id=str(charge.id),
        effective_at=charge.requested_at,
        agent_id=charge.agent_id,
        payload={"type": event_type, "data": ChargeOut.of(charge).model_dump(mode="json")},
        now=now,
    )


def _check_text(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None and not 0 < len(value) <= _LIMITS[name]:
            raise InvalidInput(f"{name} must be 1-{_LIMITS[name]} characters", field=name)


def request_charge(
    session: Session,
    now: datetime,
    *,
    agent_id: str,
    scope_id: str,
    vehicle_type: str,
    plate: str,
    amount: int,
    source: str,
    source_id: str,
    place: str | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    match: str = "exact",
    raw_plate: str | None = None,
) -> Charge:
    """The charge for ``(source, source_id)``, created now or found as it was (a replayed exit
    gets the first charge back, unchanged). A new charge is told to its agent
    (``charge.requested``) in this transaction; an amount of 0 (a stay within the free
    minutes) is created ``paid`` with reference ``nothing-to-collect``, told to nobody and on
    no statement.

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` when new (this runs in the gate's
    exit transaction), one more ``SELECT`` when replayed.
    """
    values = _requested_values(
        now,
        agent_id=agent_id,
        key=plate_key(scope_id, vehicle_type, plate),
        amount=amount,
        source=source,
        source_id=source_id,
        place=place,
        started_at=started_at,
        ended_at=ended_at,
        match=match,
        raw_plate=raw_plate,
    )
    created = session.scalars(_insert_unless_there(session, values)).first()
    if created is None:
        return original_charge(session, source, source_id)
    if created.status == "requested":
        charge_event(session, "charge.requested", created, now)
    return created


def _requested_values(
    now: datetime,
    *,
    agent_id: str,
    key: PlateKey,
    amount: int,
    source: str,
    source_id: str,
    place: str | None,
    started_at: datetime | None,
    ended_at: datetime | None,
    match: str,
    raw_plate: str | None,
) -> dict[str, Any]:
    """The new charge's row, checked; a free one is settled at once."""
    if amount < 0:
        raise InvalidInput("a charge's amount is at least 0 (corrections are made apart)")
    if match not in MATCHES:
        raise InvalidInput(f"match must be one of {', '.join(MATCHES)}", field="match")
    _check_text(source=source, source_id=source_id, place=place, raw_plate=raw_plate)
    free = amount == 0
    return {
        "id": uuid.uuid4(),
        "agent_id": agent_id,
        "scope_id": key.scope_id,
        "vehicle_type": key.vehicle_type,
        "plate": key.plate,
        "amount": amount,
        "status": "paid" if free else "requested",
        "source": source,
        "source_id": source_id,
        "place": place,
        "started_at": started_at,
        "ended_at": ended_at,
        "match": match,
        "raw_plate": raw_plate,
        "requested_at": now,
        "settled_at": now if free else None,
        "reference": NOTHING_TO_COLLECT if free else None,
        "created_at": created_at_default(),
    }


def _insert_unless_there(session: Session, values: dict[str, Any]) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the new charge, or no row when the
    source already has its original charge."""
    return (
        dialect_insert(session)(Charge)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[Charge.source, Charge.source_id],
            index_where=Charge.corrects_charge_id.is_(None),
        )
        .returning(Charge)
    )


def original_charge(session: Session, source: str, source_id: str) -> Charge:
    """The original (not a correction) charge of ``(source, source_id)``."""
    stmt = select(Charge).where(
        Charge.source == source,
        Charge.source_id == source_id,
        Charge.corrects_charge_id.is_(None),
    )
    charge = session.scalars(stmt).one_or_none()
    if charge is None:
        raise ChargeNotFound(f"no charge for {source} {source_id}")
    return charge


def get_charge(
    session: Session,
    charge_id: uuid.UUID,
    agent_id: str | None = None,
    *,
    for_update: bool = False,
) -> Charge:
    """The charge; with ``agent_id``, only that agent's (another's is not found, not
    forbidden: its existence is none of the caller's business). ``for_update`` takes the row
    lock (PostgreSQL; SQLite's writer already holds the database) and reads it fresh."""
    charge = session.get(
        Charge, charge_id, with_for_update=for_update or None, populate_existing=for_update
    )
    if charge is None or (agent_id is not None and charge.agent_id != agent_id):
        raise ChargeNotFound(f"no charge {charge_id}")
    return charge


def settle(
    session: Session,
    now: datetime,
    agent_id: str,
    charge_id: uuid.UUID,
    outcome: str,
    reference: str | None = None,
    reason: str | None = None,
    *,
    actor: Actor | None = None,
) -> Charge:
    """The agent's answer to its charge: ``paid`` (with its payment reference) or
    ``declined`` (the plate gets an unpaid bill, in this transaction), unless the charge's
    source registered its own meaning with :func:`on_settle`.

    Idempotent: the same outcome again returns the charge unchanged (the first reference and
    reason stay) and writes nothing. Another outcome on a settled charge is
    ``charge_already_settled``. Settles of one charge are serialised by its row lock.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    charge = get_charge(session, charge_id, agent_id, for_update=True)
    if charge.status == outcome:
        return charge
    if charge.status != "requested":
        raise ChargeAlreadySettled(
            f"charge {charge_id} is already {charge.status}", charge_status=charge.status
        )
    if outcome == "paid" and not reference:
        raise InvalidInput("a paid charge needs your payment reference", field="reference")
    _check_text(reference=reference, reason=reason)
    _settle_as(session, charge, outcome, now, reference=reference, reason=reason)
    audit.record(
        session,
        actor or Actor("agent", agent_id),
        now,
        f"charge.{outcome}",
        scope_id=charge.scope_id,
        vehicle_type=charge.vehicle_type,
        plate=charge.plate,
        object_id=str(charge.id),
        detail={"amount": charge.amount, "reference": reference, "reason": reason},
    )
    _after_settle(session, now, charge)
    return charge


def _settle_as(
    session: Session,
    charge: Charge,
    outcome: str,
    now: datetime,
    *,
    reference: str | None,
    reason: str | None,
) -> None:
    charge.status = outcome
    charge.settled_at = now
    charge.reference = reference
    charge.reason = reason
    session.add(
        SettleEvent(
            agent_id=charge.agent_id,
            charge_id=charge.id,
            kind=outcome,
            amount=charge.amount,
            at=now,
        )
    )


def correct(
    session: Session,
    now: datetime,
    actor: Actor,
    *,
    charge_id: uuid.UUID,
    amount: int,
    reason: str,
    reference: str | None = None,
) -> Charge:
    """A correction of a paid charge: a new charge of negative ``amount`` that references it,
    settled at once (credited to the agent on today's statement) and told to the agent
    (``charge.corrected``). Corrections of one charge never add up to more than it."""
    original = get_charge(session, charge_id, for_update=True)
    reason = reason.strip()
    _check_correction(session, original, amount, reason, reference)
    correction = _correction_of(original, now, amount, reason, reference)
    session.add(correction)
    session.flush()  # no ORM relationships: the charge row must exist before its event
    session.add(
        SettleEvent(
            agent_id=correction.agent_id,
            charge_id=correction.id,
            kind="correction",
            amount=amount,
            at=now,
        )
    )
    charge_event(session, "charge.corrected", correction, now)
    audit.record(
        session,
        actor,
        now,
        "charge.correct",
        scope_id=original.scope_id,
        vehicle_type=original.vehicle_type,
        plate=original.plate,
        object_id=str(correction.id),
        detail={"corrects": str(original.id), "amount": amount, "reason": reason},
    )
    return correction


def _check_correction(
    session: Session, original: Charge, amount: int, reason: str, reference: str | None
) -> None:
    if original.corrects_charge_id is not None or original.status != "paid":
        what = "a correction" if original.corrects_charge_id is not None else original.status
        raise ChargeNotCorrectable(f"charge {original.id} is {what}; only a paid charge is")
    if amount >= 0:
        raise InvalidInput("a correction's amount is negative (what is credited)", field="amount")
    if not reason:
        raise InvalidInput("a correction needs a reason", field="reason")
    _check_text(reason=reason, reference=reference)
    corrected = session.scalar(
        select(func.coalesce(func.sum(Charge.amount), 0)).where(
            Charge.corrects_charge_id == original.id
        )
    )
    remaining = original.amount + int(corrected or 0)
    if amount + remaining < 0:
        raise CorrectionExceedsCharge(
            f"charge {original.id} has {remaining} TWD left to correct", remaining=remaining
        )


def _correction_of(
    original: Charge, now: datetime, amount: int, reason: str, reference: str | None
) -> Charge:
    return Charge(
        id=uuid.uuid4(),
        agent_id=original.agent_id,
        scope_id=original.scope_id,
        vehicle_type=original.vehicle_type,
        plate=original.plate,
        amount=amount,
        status="paid",
        source=original.source,
        source_id=original.source_id,
        corrects_charge_id=original.id,
        place=original.place,
        started_at=original.started_at,
        ended_at=original.ended_at,
        match=original.match,
        raw_plate=original.raw_plate,
        requested_at=now,
        settled_at=now,
        reference=reference,
        reason=reason,
    )


@dataclass(frozen=True)
class Expiry:
    declined: int
    billed: int


def expire_unsettled(session: Session, now: datetime, *, actor: Actor = SYSTEM) -> Expiry:
    """Decline every charge still ``requested`` 48 hours after it was requested (reason
    ``unsettled``), each with its settle event and the plate's bill. Idempotent: a second run
    finds nothing. Set-based, in batches: one ``UPDATE ... RETURNING`` per batch; a charge the
    agent settles meanwhile is skipped (its row lock, then the status check, decide)."""
    cutoff = now - UNSETTLED_AFTER
    candidates = (
        select(Charge.id)
        .where(Charge.status == "requested", Charge.requested_at <= cutoff)
        .order_by(Charge.requested_at, Charge.id)
        .limit(_EXPIRY_BATCH)
    )
    declined = billed = 0
    while ids := list(session.scalars(candidates)):
        stmt = (
            update(Charge)
            .where(Charge.id.in_(ids), Charge.status == "requested")
            .values(status="declined", settled_at=now, reason=UNSETTLED)
            .returning(Charge)
            .execution_options(synchronize_session=False)
        )
        charges = list(session.scalars(stmt))
        if charges:
            events = [_event_row(c, "declined", now) for c in charges]
            session.execute(insert(SettleEvent), events)
        declined += len(charges)
        handled = [c for c in charges if c.source in _SETTLE_HANDLERS]
        for charge in handled:
            _SETTLE_HANDLERS[charge.source](session, now, charge)
        unhandled = [c for c in charges if c.source not in _SETTLE_HANDLERS]
        billed += bills.open_bills_for_declined(session, now, unhandled)
    if declined:
        audit.record(
            session, actor, now, "charge.expire", detail={"declined": declined, "billed": billed}
        )
    return Expiry(declined, billed)


def _event_row(charge: Charge, kind: str, at: datetime) -> dict[str, object]:
    return {
        "agent_id": charge.agent_id,
        "charge_id": charge.id,
        "kind": kind,
        "amount": charge.amount,
        "at": at,
        "created_at": created_at_default(),
    }
