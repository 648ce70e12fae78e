"""Keyset cursors for listings ordered by (time, id): opaque to clients, exact to resume from.

A cursor is the last row's position, base64url without padding; anything this API did not
hand out is a clear 422 (``invalid_input`` on ``cursor``), never a 500.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from platebind.errors import InvalidInput


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) position a cursor names."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        text, _, row_id = raw.partition("|")
        at = datetime.fromisoformat(text)
        if at.tzinfo is None:
            raise ValueError("a cursor's time has an offset")
        return at.astimezone(UTC), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidInput("cursor is not one this API returned", field="cursor") from exc
