"""Secrets never reach the logs or an error answer.

Two real ``serve`` processes (one delivering webhooks) on PostgreSQL, through a database URL
with a password, go through what handles secrets: API keys (right and wrong), a webhook secret
and a failing delivery, a member's password (right and wrong) and national ID, the session
cookie and CSRF token, a transfer code (used and wrong). Then every line the processes logged
is searched for each secret, and the refusals' bodies for what was sent.
"""

from __future__ import annotations

import httpx
import pytest

from platebind.portal import sessions
from platebind.registry import service
from platebind.registry.audit import Actor
from tests.portal.conftest import ALICE_CAR, ALICE_EMAIL, PASSWORD
from tests.security.conftest import DATABASE_PASSWORD, Deployment
from tests.vehicles.extracts import ALICE
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.postgres
WRONG_PASSWORD = "not-alices-password-7"
WRONG_CODE = "ZZZZ-ZZZZ-ZZZZ"


def _wrong_key(key: str) -> str:
    """The right key's visible part with another secret: what a leaked log line would help."""
    return key[: len(key) // 2] + "x" * (len(key) - len(key) // 2)


def test_no_secret_is_logged_or_echoed_in_an_error(deployment: Deployment) -> None:
    secrets: dict[str, str] = {}
    refusals: dict[str, httpx.Response] = {}
    with deployment.db.tx() as s:
        service.bind(
            s,
            deployment.db.clock,
            Actor("agent", "cmj"),
            agent_id="cmj",
            scope_id="tpe-lots",
            vehicle_type="car",
            plate=ALICE_CAR,
        )

    # A member: registration, a wrong password, log-in, a transfer code.
    alice = deployment.portal(0)
    assert alice.register(ALICE_EMAIL, ALICE).status_code == 303
    alice.post("/portal/logout")
    refusals["wrong password"] = alice.log_in(ALICE_EMAIL, WRONG_PASSWORD)
    assert refusals["wrong password"].status_code == 401
    assert alice.log_in(ALICE_EMAIL, PASSWORD).status_code == 303
    assert alice.add_plate(ALICE_CAR).status_code == 303
    issued = alice.post(f"/portal/plates/car/{ALICE_CAR}/transfer-codes", {"scope": "tpe-lots"})
    assert issued.status_code == 200
    secrets["transfer code"] = issued.text.split('id="transfer-code" class="code">')[1].split("<")[
        0
    ]
    secrets["session cookie"] = alice.http.cookies[sessions.COOKIE_NAME]
    secrets["csrf token"] = alice.csrf
    alice.close()

    with Receiver() as receiver:
        receiver.fail_always("500")
        with deployment.agent_api("cmj", 1) as cmj, deployment.agent_api("pi", 1) as pi:
            endpoint = cmj.put("/v1/webhook-endpoint", json={"url": receiver.url})
            assert endpoint.status_code == 200, endpoint.text
            secrets["webhook secret"] = endpoint.json()["secret"]
            body = {"scope": "tpe-lots", "vehicle_type": "car", "plate": ALICE_CAR}
            refusals["wrong transfer code"] = pi.post(
                "/v1/bindings", json={**body, "transfer_code": WRONG_CODE}
            )
            assert refusals["wrong transfer code"].status_code in (403, 409, 422)
            moved = pi.post(
                "/v1/bindings", json={**body, "transfer_code": secrets["transfer code"]}
            )
            assert moved.status_code == 201, moved.text
        # cmj's binding ends: its event reaches the failing receiver, through the worker.
        receiver.wait_for(1, timeout=30)

    wrong_key = _wrong_key(deployment.agent_keys["cmj"])
    refusals["wrong key"] = httpx.get(
        f"{deployment.base_urls[0]}/v1/bindings",
        headers={"Authorization": f"Bearer {wrong_key}"},
    )
    assert refusals["wrong key"].status_code == 401
    secrets |= {
        "cmj's key": deployment.agent_keys["cmj"],
        "pi's key": deployment.agent_keys["pi"],
        "a wrong key": wrong_key,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "national ID": ALICE,
        "database password": DATABASE_PASSWORD,
    }

    logged = deployment.stop()

    assert "webhook attempt failed" in logged  # the failure was logged, so was looked at
    assert "platebind.access" in logged or '"path"' in logged
    for name, secret in secrets.items():
        assert secret.lower() not in logged.lower(), f"{name} is in the log"
    for name, response in refusals.items():
        for secret in (WRONG_PASSWORD, WRONG_CODE, wrong_key, PASSWORD):
            assert secret not in response.text, f"the {name} answer echoes a secret"
