"""Transfer codes: the owner's consent for a new agent to take a plate over (like number porting).

Single use, valid 7 days, bound to scope + vehicle type + plate, at least 50 random bits, kept
only as a hash; issuing a new one voids the older ones; wrong guesses are rate-limited per agent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.registry import audit
from platebind.registry.audit import Actor
from platebind.registry.errors import (
    TransferCodeExpired,
    TransferCodeInvalid,
    TransferCodeRateLimited,
)
from platebind.registry.models import TransferCode, TransferCodeFailure

# Crockford's base32: no I, L, O, U, so a code read aloud or typed from a phone survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 bits
VALID_FOR = timedelta(days=7)
FAILURE_WINDOW = timedelta(hours=1)
MAX_FAILURES = 10


@dataclass(frozen=True)
class IssuedCode:
    code: str
    record: TransferCode


def _canonical(code: str) -> str:
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("ILO", "110"))


def _hash(code: str) -> str:
    return hashlib.sha256(_canonical(code).encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def issue(
    session: Session, clock: Clock, actor: Actor, scope_id: str, vehicle_type: str, plate: str
) -> IssuedCode:
    """A new code for the plate in the scope; older unused codes stop working."""
    now = clock.now()
    session.execute(
        update(TransferCode)
        .where(
            TransferCode.scope_id == scope_id,
            TransferCode.vehicle_type == vehicle_type,
            TransferCode.plate == plate,
            TransferCode.used_at.is_(None),
            TransferCode.voided_at.is_(None),
        )
        .values(voided_at=now)
    )
    code = _new_code()
    record = TransferCode(
        scope_id=scope_id,
        vehicle_type=vehicle_type,
        plate=plate,
        code_hash=_hash(code),
        issued_at=now,
        expires_at=now + VALID_FOR,
        issued_by=actor.type if actor.id is None else f"{actor.type}:{actor.id}",
    )
    session.add(record)
    audit.record(
        session,
        actor,
        now,
        "transfer_code.issue",
        scope_id=scope_id,
        vehicle_type=vehicle_type,
        plate=plate,
    )
    return IssuedCode(code, record)


def check(
    session: Session,
    now: datetime,
    agent_id: str,
    scope_id: str,
    vehicle_type: str,
    plate: str,
    code: str,
) -> TransferCode:
    """The usable code row, or a refusal. A wrong code is counted against the agent."""
    _check_rate(session, now, agent_id)
    record = session.scalars(
        select(TransferCode).where(TransferCode.code_hash == _hash(code))
    ).first()
    usable = (
        record is not None
        and (record.scope_id, record.vehicle_type, record.plate) == (scope_id, vehicle_type, plate)
        and record.used_at is None
        and record.voided_at is None
    )
    if not usable or record is None:
        error = TransferCodeInvalid(
            f"the transfer code is not valid for {plate} ({vehicle_type}) in {scope_id}; the "
            "owner can issue a new one in the portal"
        )
        error.aftermath = lambda s: s.add(TransferCodeFailure(agent_id=agent_id, at=now))
        raise error
    if record.expires_at <= now:
        raise TransferCodeExpired(
            f"the transfer code expired at {record.expires_at.isoformat()}; the owner can issue "
            "a new one in the portal"
        )
    return record


def _check_rate(session: Session, now: datetime, agent_id: str) -> None:
    failures = session.scalar(
        select(func.count()).where(
            TransferCodeFailure.agent_id == agent_id,
            TransferCodeFailure.at > now - FAILURE_WINDOW,
        )
    )
    if (failures or 0) >= MAX_FAILURES:
        raise TransferCodeRateLimited(
            f"more than {MAX_FAILURES} invalid transfer codes within an hour; try again later",
            retry_after=int(FAILURE_WINDOW.total_seconds()),
        )


def redeem(record: TransferCode, now: datetime, agent_id: str) -> None:
    """Mark a checked code used: single use."""
    record.used_at = now
    record.used_by_agent_id = agent_id


def codes_for_plate(session: Session, vehicle_type: str, plate: str) -> list[TransferCode]:
    stmt = (
        select(TransferCode)
        .where(TransferCode.vehicle_type == vehicle_type, TransferCode.plate == plate)
        .order_by(TransferCode.issued_at)
    )
    return list(session.scalars(stmt))
