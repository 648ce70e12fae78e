"""Log-in and look-up limits hold across two real ``serve`` processes on one PostgreSQL
database: the counters live in the database, not in a process's memory.

The servers run on the system clock and the limits count in fixed windows, so each check is
run for a fresh member and repeated once (in the next window, certainly whole) in the rare case
that its few seconds straddled a window's end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from platebind.portal.service import LOOKUPS_PER_MEMBER
from platebind.portal.views_account import FAILED_LOGINS_PER_EMAIL
from platebind.ratelimit import Limit
from tests.portal.conftest import PASSWORD, PortalClient
from tests.security.conftest import Deployment
from tests.vehicles.extracts import national_id

pytestmark = pytest.mark.postgres


def within_one_window(limit: Limit, check: Callable[[int], None]) -> None:
    """Run ``check(round)`` until one run started and ended in the same window of ``limit``."""
    for round_ in range(2):
        started = datetime.now(UTC)
        check(round_)
        if limit.window_start(started) == limit.window_start(datetime.now(UTC)):
            return
    pytest.fail(f"two runs in a row straddled a {limit.name} window")


def _member(deployment: Deployment, serial: int) -> tuple[PortalClient, PortalClient]:
    """A new member logged in on process 0, and the same browser (cookie jar) on process 1."""
    first = deployment.portal(0)
    assert first.register(f"member{serial}@example.tw", national_id(serial, "F")).status_code == 303
    second = deployment.portal(1)
    second.http.cookies = first.http.cookies
    return first, second


def test_failed_log_ins_are_counted_across_two_serve_processes(deployment: Deployment) -> None:
    def check(round_: int) -> None:
        first, second = _member(deployment, 3000 + round_)
        email = first.email
        first.post("/portal/logout")
        clients = [deployment.portal(0), deployment.portal(1)]
        for attempt in range(FAILED_LOGINS_PER_EMAIL.limit):
            refused = clients[attempt % 2].log_in(email, "wrong password!")
            assert refused.status_code == 401, refused.text
        for client in clients:  # the right password now waits, on either process
            blocked = client.log_in(email, PASSWORD)
            assert blocked.status_code == 429
            assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
        for client in (*clients, first, second):
            client.close()

    within_one_window(FAILED_LOGINS_PER_EMAIL, check)


def test_plate_look_ups_are_counted_across_two_serve_processes(deployment: Deployment) -> None:
    def check(round_: int) -> None:
        first, second = _member(deployment, 4000 + round_)
        clients = (first, second)
        statuses = [
            clients[n % 2].add_plate(f"LKP-{round_ * 100 + n + 1:04d}").status_code
            for n in range(LOOKUPS_PER_MEMBER.limit + 1)
        ]
        assert statuses == [303] * LOOKUPS_PER_MEMBER.limit + [429]
        assert first.add_plate("LKP-9999").status_code == 429
        for client in clients:
            client.close()

    within_one_window(LOOKUPS_PER_MEMBER, check)
