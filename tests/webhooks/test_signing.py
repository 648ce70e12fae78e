"""Standard Webhooks signing: secrets, ids, bodies and headers (no database)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from platebind.clock import TAIPEI
from platebind.webhooks.signing import (
    body_text,
    event_id_of,
    message_id,
    new_secret,
    signed_headers,
)

PAYLOAD = {"type": "binding.scheduled", "seq": 3, "data": {"plate": "ABC-1234", "agent": "cmj"}}


def test_secrets_are_whsec_with_32_random_bytes_and_never_repeat() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_message_ids_round_trip_and_foreign_ids_are_refused() -> None:
    assert message_id(42) == "evt_42"
    assert event_id_of("evt_42") == 42
    assert event_id_of(f"evt_{2**63 - 1}") == 2**63 - 1
    for foreign in ("42", "evt_", "evt_-1", "evt_4x", "msg_42", "evt_٤٢", "", f"evt_{2**63}"):
        assert event_id_of(foreign) is None
    assert event_id_of("evt_" + "9" * 5000) is None  # int() would refuse past 4300 digits


def test_body_keeps_type_seq_data_and_adds_id_and_taipei_timestamp() -> None:
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    doc = json.loads(body_text(7, PAYLOAD, at))
    assert doc == {"id": "evt_7", "timestamp": "2026-11-26T10:00:00+08:00", **PAYLOAD}


def test_signature_verifies_with_the_secret_and_not_with_another() -> None:
    secret = new_secret()
    now = datetime.now(UTC)
    body = body_text(7, PAYLOAD, now)
    headers = signed_headers(secret, "evt_7", now.astimezone(TAIPEI), body)
    assert headers["webhook-id"] == "evt_7"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("ABC-1234", "ABC-1235"), headers)


def test_a_stale_signature_is_refused_by_receivers() -> None:
    secret = new_secret()
    sent = datetime.now(UTC) - timedelta(minutes=10)
    body = body_text(7, PAYLOAD, sent)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, signed_headers(secret, "evt_7", sent, body))
