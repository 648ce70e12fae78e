"""Notices of changes that took effect: in the portal and by e-mail through a real local SMTP
server (aiosmtpd)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from platebind.portal import tasks
from platebind.portal.models import Notice, OutgoingEmail
from platebind.portal.notifications import SmtpMailer
from tests.cli_helpers import Cli
from tests.portal.conftest import ALICE_CAR, ALICE_EMAIL, PortalClient, PortalWorld, portal_settings
from tests.registry.test_cutover import tpe
from tests.vehicles.extracts import ALICE

SATURDAY_0400 = tpe("2026-11-28 04:00")


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = BytesParser(policy=default_policy).parsebytes(envelope.content)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpMailer]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, SmtpMailer("127.0.0.1", controller.port, "platebind <no-reply@example.tw>")
    finally:
        controller.stop()


@pytest.fixture
def alice_watching(portal: PortalWorld) -> PortalClient:
    """Alice's car is held by cmj, which has unbound it: the binding ends Saturday 04:00, and
    Alice asked to be told."""
    portal.bind("cmj", ALICE_CAR)
    portal.db.clock.advance(timedelta(days=1))
    portal.unbind("cmj", ALICE_CAR)
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.add_plate(ALICE_CAR)
    asked = alice.post(f"/portal/plates/car/{ALICE_CAR}/watch", {"scope": "tpe-lots"})
    assert asked.status_code == 303
    page = alice.page(f"/portal/plates/car/{ALICE_CAR}").text
    assert "將以網站通知及電子郵件告知您" in page
    return alice


def _run(portal: PortalWorld, mailer: SmtpMailer | None) -> tasks.NoticeRun:
    return tasks.run_notices(portal.db.factory, portal.db.clock, portal_settings(), mailer)


def test_the_owner_is_told_in_the_portal_and_by_email_when_the_change_takes_effect(
    portal: PortalWorld, alice_watching: PortalClient, smtp: tuple[Inbox, SmtpMailer]
) -> None:
    inbox, mailer = smtp
    assert _run(portal, mailer).notices == 0  # not yet
    portal.db.clock.advance(SATURDAY_0400 - portal.db.clock.now())
    run = _run(portal, mailer)
    assert (run.notices, run.emails_sent, run.emails_waiting) == (1, 1, 0)
    (message,) = inbox.messages
    assert message["To"] == ALICE_EMAIL
    assert message["Subject"] == f"platebind：{ALICE_CAR} 綁定異動"
    body = message.get_content()
    assert (
        f"自 2026-11-28 (週六) 04:00 起，{ALICE_CAR} 在臺北市公有停車場未綁定任何代繳單位" in body
    )
    assert f"https://portal.example.tw/portal/plates/car/{ALICE_CAR}" in body
    alice_watching.log_in(ALICE_EMAIL)
    bills = alice_watching.page("/portal/bills").text
    assert "1 則未讀" in bills
    notices = alice_watching.page("/portal/notices").text
    assert f"{ALICE_CAR} 在臺北市公有停車場未綁定任何代繳單位" in notices
    assert "則未讀" not in alice_watching.page("/portal/bills").text


def test_the_notice_says_what_actually_holds_at_that_time(
    portal: PortalWorld, alice_watching: PortalClient
) -> None:
    portal.bind("pi", ALICE_CAR)  # queued to start exactly when cmj's binding ends
    portal.db.clock.advance(SATURDAY_0400 - portal.db.clock.now())
    assert _run(portal, None).notices == 1
    with portal.db.tx() as s:
        (notice,) = s.scalars(select(Notice)).all()
        assert notice.params["agent_id"] == "pi"
        email = s.scalars(select(OutgoingEmail)).one()
    assert f"{ALICE_CAR} 的臺北市公有停車場代繳單位為 Pi 拍錢包" in email.body


def test_a_notice_is_delivered_once_however_often_the_job_runs(
    portal: PortalWorld, alice_watching: PortalClient
) -> None:
    portal.db.clock.advance(SATURDAY_0400 - portal.db.clock.now() + timedelta(minutes=1))
    assert _run(portal, None).notices == 1
    assert _run(portal, None).notices == 0
    with portal.db.tx() as s:
        assert len(s.scalars(select(Notice)).all()) == 1
        assert len(s.scalars(select(OutgoingEmail)).all()) == 1


def test_an_email_the_server_cannot_take_waits_and_is_sent_later(
    portal: PortalWorld, alice_watching: PortalClient, smtp: tuple[Inbox, SmtpMailer]
) -> None:
    inbox, mailer = smtp
    portal.db.clock.advance(SATURDAY_0400 - portal.db.clock.now())
    unreachable = SmtpMailer("127.0.0.1", _free_port(), "platebind <no-reply@example.tw>")
    failed = _run(portal, unreachable)
    assert (failed.notices, failed.emails_sent, failed.emails_waiting) == (1, 0, 1)
    with portal.db.tx() as s:
        email = s.scalars(select(OutgoingEmail)).one()
        assert email.attempts == 1
        assert email.last_error
        retry_at = email.next_attempt_at
    assert _run(portal, mailer).emails_sent == 0  # not before its retry time
    portal.db.clock.advance(retry_at - portal.db.clock.now())
    assert _run(portal, mailer).emails_sent == 1
    assert len(inbox.messages) == 1


def test_asking_when_nothing_is_pending_is_explained(portal: PortalWorld) -> None:
    alice = portal.member(ALICE_EMAIL, ALICE)
    alice.add_plate(ALICE_CAR)
    response = alice.post(f"/portal/plates/car/{ALICE_CAR}/watch", {"scope": "tpe-lots"})
    assert response.status_code == 409
    assert "此車號在此範圍沒有排定的異動" in response.text


def test_portal_notify_command_delivers_and_reports(
    portal: PortalWorld, alice_watching: PortalClient
) -> None:
    cli = Cli(portal.db.url)
    assert cli.json("portal", "notify", at="2026-11-28 03:59") == {
        "notices": 0,
        "emails_sent": 0,
        "emails_waiting": 0,
    }
    # No SMTP server configured: the e-mail waits in the outbox, the notice is in the portal.
    assert cli.json("portal", "notify", at="2026-11-28 04:00") == {
        "notices": 1,
        "emails_sent": 0,
        "emails_waiting": 1,
    }
    purged = cli.json("portal", "purge", at="2026-11-29 04:00")
    assert purged["sessions"] >= 1
