"""Telling a member that a pending change of their plate took effect: an in-portal notice and
an e-mail, both written in one transaction when the change's time has come, the e-mail sent
afterwards from an outbox (at least once; a crash mid-send can repeat it, never lose it)."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from platebind.clock import Clock
from platebind.config import Settings
from platebind.db import claim_rows
from platebind.errors import DomainError
from platebind.portal.models import ChangeWatch, Member, Notice, OutgoingEmail
from platebind.portal.overview import scope_state
from platebind.portal.service import require_owner
from platebind.portal.templating import render, translate
from platebind.registry import agents, queries
from platebind.registry.scopes import get_scope
from platebind.registry.service import PlateKey, plate_key

CHANGE_EFFECTIVE = "change_effective"
BATCH = 100
# A claimed e-mail is retried after this long if its sender died before recording the result.
SEND_LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)


class NothingPending(DomainError):
    code = "no_pending_change"
    title = "No change is scheduled for this plate"
    status = 409


def watch_change(
    session: Session, member: Member, key: PlateKey, scope_id: str, now: datetime
) -> ChangeWatch:
    """Ask to be told when the plate's next change in the scope takes effect (owner only)."""
    require_owner(session, member, key)
    state = scope_state(session, get_scope(session, scope_id), key.vehicle_type, key.plate, now)
    if state.pending_at is None:
        raise NothingPending(f"nothing is scheduled for {key.plate} in {scope_id}")
    existing = session.scalars(
        select(ChangeWatch).where(
            ChangeWatch.member_id == member.id,
            ChangeWatch.scope_id == scope_id,
            ChangeWatch.vehicle_type == key.vehicle_type,
            ChangeWatch.plate == key.plate,
            ChangeWatch.effective_at == state.pending_at,
        )
    ).first()
    if existing is not None:
        return existing
    watch = ChangeWatch(
        member_id=member.id,
        scope_id=scope_id,
        vehicle_type=key.vehicle_type,
        plate=key.plate,
        effective_at=state.pending_at,
        requested_at=now,
    )
    session.add(watch)
    return watch


def pending_watches(session: Session, member: Member, key: PlateKey) -> set[tuple[str, datetime]]:
    """(scope, time) of the member's undelivered requests for this plate."""
    stmt = select(ChangeWatch.scope_id, ChangeWatch.effective_at).where(
        ChangeWatch.member_id == member.id,
        ChangeWatch.vehicle_type == key.vehicle_type,
        ChangeWatch.plate == key.plate,
        ChangeWatch.delivered_at.is_(None),
    )
    return {(scope_id, at) for scope_id, at in session.execute(stmt)}


def _notice_params(session: Session, watch: ChangeWatch) -> dict[str, Any]:
    scope = get_scope(session, watch.scope_id)
    key = plate_key(watch.scope_id, watch.vehicle_type, watch.plate)
    # What holds at the time, not what was expected when asked: a change may have been
    # cancelled or replaced since.
    holder = queries.holder_at(session, key, watch.effective_at)
    agent = agents.get_agent(session, holder.agent_id) if holder else None
    return {
        "scope_id": scope.id,
        "scope_name": scope.name,
        "scope_name_en": scope.name_en,
        "vehicle_type": watch.vehicle_type,
        "plate": watch.plate,
        "effective_at": watch.effective_at.isoformat(),
        "agent_id": agent.id if agent else None,
        "agent_name": agent.name if agent else None,
        "agent_name_en": agent.name_en if agent else None,
    }


def deliver_due(session: Session, now: datetime, portal_url: str) -> int:
    """Turn the requests whose time has come into notices and queued e-mails; how many."""
    stmt = (
        select(ChangeWatch)
        .where(ChangeWatch.delivered_at.is_(None), ChangeWatch.effective_at <= now)
        .order_by(ChangeWatch.effective_at, ChangeWatch.id)
        .limit(BATCH)
    )
    watches = list(session.scalars(claim_rows(session, stmt)))
    for watch in watches:
        member = session.get(Member, watch.member_id)
        assert member is not None  # the foreign key cascades deletes
        params = _notice_params(session, watch)
        session.add(Notice(member_id=member.id, kind=CHANGE_EFFECTIVE, params=params, at=now))
        subject = translate(member.locale, "platebind: %(plate)s changed", plate=watch.plate)
        body = render(
            "email/notice.txt",
            member.locale,
            kind=CHANGE_EFFECTIVE,
            params=params,
            link=f"{portal_url}/portal/plates/{watch.vehicle_type}/{watch.plate}",
        )
        session.add(
            OutgoingEmail(
                to_address=member.email,
                subject=subject,
                body=body,
                queued_at=now,
                next_attempt_at=now,
            )
        )
        watch.delivered_at = now
    return len(watches)


def notices_of(session: Session, member: Member, limit: int = 50) -> list[Notice]:
    stmt = (
        select(Notice)
        .where(Notice.member_id == member.id)
        .order_by(Notice.at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def unread_count(session: Session, member: Member) -> int:
    stmt = select(Notice.id).where(Notice.member_id == member.id, Notice.read_at.is_(None))
    return len(list(session.scalars(stmt.limit(100))))


def mark_read(session: Session, member: Member, now: datetime) -> None:
    session.execute(
        update(Notice)
        .where(Notice.member_id == member.id, Notice.read_at.is_(None))
        .values(read_at=now)
    )


# ---------------------------------------------------------------------------------------------
# Sending


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    """Sends through the configured SMTP server (``PLATEBIND_SMTP_*``)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer | None:
        if not settings.smtp_host:
            return None
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_username,
            password,
            settings.smtp_starttls,
        )

    def send(self, message: EmailMessage) -> None:
        message["From"] = self.sender
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


Transaction = Callable[[], AbstractContextManager[Session]]


def _claim(tx: Transaction, now: datetime) -> list[tuple[int, str, str, str, int]]:
    with tx() as session:
        stmt = (
            select(OutgoingEmail)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.next_attempt_at <= now)
            .order_by(OutgoingEmail.next_attempt_at, OutgoingEmail.id)
            .limit(BATCH)
        )
        claimed = list(session.scalars(claim_rows(session, stmt)))
        for email in claimed:
            email.next_attempt_at = now + SEND_LEASE
        return [(e.id, e.to_address, e.subject, e.body, e.attempts) for e in claimed]


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=2 ** min(attempts, 10)))


def send_due_emails(tx: Transaction, clock: Clock, mailer: Mailer) -> int:
    """Send the queued e-mails that are due; the number sent. Failures are retried later."""
    sent = 0
    for email_id, to, subject, body, attempts in _claim(tx, clock.now()):
        message = EmailMessage()
        message["To"], message["Subject"] = to, subject
        message.set_content(body)
        try:
            mailer.send(message)
        except (OSError, smtplib.SMTPException) as exc:
            values: dict[str, Any] = {
                "attempts": attempts + 1,
                "last_error": str(exc)[:500],
                "next_attempt_at": clock.now() + _backoff(attempts + 1),
            }
        else:
            values = {"attempts": attempts + 1, "sent_at": clock.now(), "last_error": None}
            sent += 1
        with tx() as session:
            session.execute(
                update(OutgoingEmail).where(OutgoingEmail.id == email_id).values(values)
            )
    return sent
