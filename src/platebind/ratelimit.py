"""Rate limits shared by every server process: fixed-window counters in the database.

A counter is one row per (limit, subject, window), bumped with a single upsert that returns the
new count, so several ``serve`` processes behind a load balancer see one budget. Subjects (an
e-mail address, an IP address, a member) are stored only as a hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from platebind.db import Base, UTCDateTime, dialect_insert
from platebind.errors import DomainError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RateCounter(Base):
    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many requests"
    status = 429


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` events per ``window`` for one subject of the limit ``name``."""

    name: str
    limit: int
    window: timedelta

    def key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:40]
        return f"{self.name}:{digest}"

    def window_start(self, now: datetime) -> datetime:
        size = int(self.window.total_seconds())
        elapsed = int((now - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=elapsed - elapsed % size)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        remaining = self.window_start(now) + self.window - now
        return max(1, int(remaining.total_seconds() + 0.999))


def used(session: Session, limit: Limit, subject: str, now: datetime) -> int:
    """Events counted for ``subject`` in the current window."""
    stmt = select(RateCounter.count).where(
        RateCounter.key == limit.key(subject), RateCounter.window_start == limit.window_start(now)
    )
    return session.scalar(stmt) or 0


def add(session: Session, limit: Limit, subject: str, now: datetime) -> int:
    """Count one event; the window's new total."""
    insert = dialect_insert(session)
    stmt = insert(RateCounter).values(
        key=limit.key(subject), window_start=limit.window_start(now), count=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"count": RateCounter.count + 1}
    ).returning(RateCounter.count)
    total: int = session.execute(stmt).scalar_one()
    return total


def refuse_if_spent(session: Session, limit: Limit, subject: str, now: datetime) -> None:
    """``rate_limited`` (with ``retry_after``) when the window's budget is already used up."""
    if used(session, limit, subject, now) >= limit.limit:
        raise _refusal(limit, now)


def consume(session: Session, limit: Limit, subject: str, now: datetime) -> None:
    """Count one event, refusing it when it goes over the budget.

    Run it in its own transaction when the refusal of the request must not undo the count.
    """
    if add(session, limit, subject, now) > limit.limit:
        raise _refusal(limit, now)


def _refusal(limit: Limit, now: datetime) -> RateLimited:
    return RateLimited(
        f"too many attempts; try again in {limit.retry_after(now)} seconds",
        retry_after=limit.retry_after(now),
        limit=limit.name,
    )


def purge(session: Session, before: datetime) -> int:
    """Delete the windows that started before ``before``; the number deleted."""
    result = session.execute(delete(RateCounter).where(RateCounter.window_start < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
