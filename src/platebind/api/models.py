"""Tables of the HTTP edge itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, JsonDoc, UTCDateTime, created_at_default


class IdempotencyRecord(Base):
    """The first answer to a POST/DELETE with an ``Idempotency-Key``, per credential and key.

    Written in the same transaction as the work it guards, so either both exist or neither.
    """

    __tablename__ = "idempotency_records"

    credential_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)
