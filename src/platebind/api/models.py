"""Tables of the HTTP edge itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, UTCDateTime, created_at_default


class IdempotencyRecord(Base):
    """The first answer to a POST/DELETE with an ``Idempotency-Key``, per credential and key.

    Written in the same transaction as the work it guards, so either both exist or neither.
    """

    __tablename__ = "idempotency_records"

    credential_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    # The exact bytes first sent: a JSON column would re-order keys (JSONB does), and a replay
    # must be byte-for-byte the first answer.
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)
