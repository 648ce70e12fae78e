"""The portal's background work: notices whose time has come (and their e-mails), and purging
expired sessions and old rate-limit windows. Run by ``platebind worker``, by ``serve``'s
background thread, or once by ``platebind portal notify`` / ``portal purge`` (cron)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from platebind import ratelimit
from platebind.clock import Clock, SystemClock
from platebind.config import Settings
from platebind.db import make_engine, make_session_factory, transaction
from platebind.portal import notifications, reminders, sessions
from platebind.portal.models import OutgoingEmail
from platebind.portal.notifications import Mailer, SmtpMailer

log = structlog.get_logger("platebind.portal")
THREAD_NAME = "platebind-notices"
POLL_EVERY = 15.0
# Rate-limit windows are at most a day long; older counters count for nothing.
COUNTER_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class NoticeRun:
    notices: int
    emails_sent: int
    emails_waiting: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_notices(
    factory: sessionmaker[Session], clock: Clock, settings: Settings, mailer: Mailer | None = None
) -> NoticeRun:
    """Deliver every due notice, then send the queued e-mails (when a mailer is configured)."""
    delivered = 0
    while True:
        with transaction(factory) as session:
            batch = notifications.deliver_due(session, clock.now(), settings.portal_base_url)
        delivered += batch
        if batch < notifications.BATCH:
            break
    with transaction(factory) as session:
        delivered += reminders.remind_due_bills(session, clock.now(), settings.portal_base_url)
    mailer = mailer if mailer is not None else SmtpMailer.from_settings(settings)

    def tx() -> AbstractContextManager[Session]:
        return transaction(factory)

    sent = notifications.send_due_emails(tx, clock, mailer) if mailer is not None else 0
    with transaction(factory) as session:
        waiting = session.scalar(select(func.count()).where(OutgoingEmail.sent_at.is_(None)))
    return NoticeRun(delivered, sent, waiting or 0)


@dataclass(frozen=True)
class PurgeRun:
    sessions: int
    rate_counters: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def purge(factory: sessionmaker[Session], clock: Clock) -> PurgeRun:
    now = clock.now()
    with transaction(factory) as session:
        expired = sessions.purge_expired(session, now)
        counters = ratelimit.purge(session, now - COUNTER_RETENTION)
    return PurgeRun(expired, counters)


def notices_forever(
    factory: sessionmaker[Session], settings: Settings, stop: threading.Event
) -> None:
    """Deliver notices and purge every ``POLL_EVERY`` seconds until ``stop``; errors are
    logged and retried, never fatal."""
    clock = SystemClock()
    while not stop.is_set():
        try:
            run_notices(factory, clock, settings)
            purge(factory, clock)
        except Exception:
            log.exception("portal notices failed", retry_in_s=POLL_EVERY)
        stop.wait(POLL_EVERY)


@contextmanager
def background_notices(database_url: str, settings: Settings | None = None) -> Iterator[None]:
    """Run ``notices_forever`` in a thread while the block runs."""
    engine = make_engine(database_url)
    stop = threading.Event()
    thread = threading.Thread(
        target=notices_forever,
        args=(make_session_factory(engine), settings or Settings(), stop),
        name=THREAD_NAME,
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
        engine.dispose()
