"""Server-side sessions: the cookie carries 256 random bits; the database keeps their SHA-256,
the member (none before log-in) and the CSRF token of every form the session is shown.

Logging in replaces the session (a token seen before log-in is worthless after it); log-out
deletes it. A session lasts ``IDLE`` after its last request and never beyond ``ABSOLUTE``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from platebind.portal.models import PortalSession

COOKIE_NAME = "platebind_session"
IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
# Refresh the stored expiry at most this often: most page views then write nothing.
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Started:
    token: str
    record: PortalSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, now: datetime, member_id: uuid.UUID | None = None) -> Started:
    token = secrets.token_urlsafe(32)
    record = PortalSession(
        token_hash=_hash(token),
        member_id=member_id,
        csrf_token=secrets.token_urlsafe(32),
        started_at=now,
        last_seen_at=now,
        expires_at=now + IDLE,
    )
    session.add(record)
    return Started(token, record)


def find(session: Session, token: str | None, now: datetime) -> PortalSession | None:
    """The live session for the cookie's token, its expiry moved on; None if unknown or expired."""
    if not token or len(token) > 100:
        return None
    record = session.get(PortalSession, _hash(token))
    if record is None or record.expires_at <= now:
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        record.expires_at = min(record.started_at + ABSOLUTE, now + IDLE)
    return record


def log_in(
    session: Session, previous: PortalSession | None, member_id: uuid.UUID, now: datetime
) -> Started:
    """A new session for the member; the anonymous one it replaces is deleted."""
    if previous is not None:
        session.delete(previous)
    return start(session, now, member_id)


def end(session: Session, record: PortalSession) -> None:
    session.delete(record)


def csrf_ok(record: PortalSession, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(record.csrf_token, presented)


def purge_expired(session: Session, now: datetime) -> int:
    result = session.execute(delete(PortalSession).where(PortalSession.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
