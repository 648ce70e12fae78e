"""Standard Webhooks signing: secrets, message ids, the body and the three headers.

The body is signed as the exact text that is sent; receivers verify it with any Standard
Webhooks library (``standardwebhooks.Webhook(secret).verify(body, headers)``).
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from platebind.clock import taipei_iso

SECRET_PREFIX = "whsec_"
# The spec asks for 24 to 64 random bytes; 32 is what the common providers issue.
SECRET_BYTES = 32
MESSAGE_ID_PREFIX = "evt_"
MAX_EVENT_ID = 2**63 - 1  # a BIGINT; larger numbers name no event (and int() of 5000 digits fails)


def new_secret() -> str:
    """A fresh signing secret, ``whsec_<base64 of 32 random bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(event_id: int) -> str:
    """The ``webhook-id``: one per event, the same on every retry, so receivers can dedupe."""
    return f"{MESSAGE_ID_PREFIX}{event_id}"


def event_id_of(message: str) -> int | None:
    """The outbox id behind a message id, or None if ``message`` is not one of ours."""
    prefix, _, digits = message.partition("_")
    return parse_event_id(digits) if f"{prefix}_" == MESSAGE_ID_PREFIX else None


def parse_event_id(digits: str) -> int | None:
    """``digits`` as an outbox id, or None if it cannot be one."""
    if not digits.isascii() or not digits.isdigit() or len(digits) > len(str(MAX_EVENT_ID)):
        return None
    value = int(digits)
    return value if value <= MAX_EVENT_ID else None


def body_text(event_id: int, payload: dict[str, Any], occurred_at: datetime) -> str:
    """The JSON body: the stored payload (``type``, ``seq``, ``data``) plus ``id`` and
    ``timestamp`` (when the event was written, Taipei time). Stable across retries."""
    doc = {"id": message_id(event_id), "timestamp": taipei_iso(occurred_at), **payload}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def signed_headers(secret: str, msg_id: str, sent_at: datetime, body: str) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for ``body``."""
    # The library stamps the value as UTC without converting, so hand it UTC.
    sent_utc = sent_at.astimezone(UTC)
    signature = Webhook(secret).sign(msg_id, sent_utc, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_utc.timestamp())),
        "webhook-signature": signature,
    }
