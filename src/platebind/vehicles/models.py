"""Vehicle table: one row per plate identity, with its owner's national ID as a keyed hash only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, UTCDateTime, created_at_default


class Vehicle(Base):
    """A plate in the motor-vehicle registry extract.

    ``owner_id_hash`` is HMAC-SHA256 (hex) of the owner's canonical national ID under the
    deployment's ``PLATEBIND_ID_HASH_KEY``: a dump of the table does not reveal IDs, and the
    portal can still match a member's ID (``vehicles.service.owner_key``).
    """

    __tablename__ = "vehicles"

    # The binding identity (car or motorcycle), as in the registry's bindings.
    vehicle_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    plate: Mapped[str] = mapped_column(String(12), primary_key=True)
    owner_id_hash: Mapped[str] = mapped_column(String(64))
    # When the row's data (today: the owner) last changed, on the injected clock.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint("vehicle_type IN ('car', 'motorcycle')", name="vehicle_type"),
    )


class KeyFingerprint(Base):
    """Which secret a database's hashes were made with (an HMAC of a constant, not the key).

    National IDs are kept only as keyed hashes, so a deployment that changes the key would
    match no owner any more, and the next registry import would see every plate change owner
    and end every binding. The fingerprint lets every use of the key refuse a different one.
    """

    __tablename__ = "key_fingerprints"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
