"""Registry tables. Bindings are never deleted or rewritten: ending one sets ``valid_to`` once."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from platebind.db import Base, BigId, JsonDoc, UTCDateTime, created_at_default


class Scope(Base):
    __tablename__ = "scopes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The portal's English page shows this when set, else ``name``.
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    cutover_minute: Mapped[int] = mapped_column(Integer, default=240)
    lead_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    immediate: Mapped[bool] = mapped_column(Boolean, default=False)
    business_days_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # The change feed's counter; bumped with UPDATE ... RETURNING as the last statement of a write.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint("kind IN ('lots', 'roadside', 'partner')", name="kind"),
        CheckConstraint("cutover_minute >= 0 AND cutover_minute < 1440", name="cutover_minute"),
        CheckConstraint("lead_seconds >= 0", name="lead_seconds"),
    )


class ClosedDay(Base):
    """A day the authority declares closed (typhoon day): no cut-over on business-day scopes."""

    __tablename__ = "closed_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    support_phone: Mapped[str | None] = mapped_column(String(40))
    support_url: Mapped[str | None] = mapped_column(String(500))
    unbind_instructions: Mapped[str | None] = mapped_column(Text)
    unbind_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'offboarded')", name="status"),
    )


class Accreditation(Base):
    __tablename__ = "accreditations"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class ApiKey(Base):
    """A credential: the public ``id`` finds the row, the secret is kept only as a SHA-256.

    ``kind`` says whose key it is (agent now; lot and warden keys use the same table).
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(40), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlateLock(Base):
    """One row per (scope, vehicle type, plate): locking it serialises writes on that plate."""

    __tablename__ = "plate_locks"

    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"), primary_key=True)
    vehicle_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    plate: Mapped[str] = mapped_column(String(12), primary_key=True)
    writes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class Binding(Base):
    __tablename__ = "bindings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"))
    vehicle_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="interval"),
        Index("ix_bindings_plate", "scope_id", "vehicle_type", "plate", "valid_from"),
        # At most one open-ended binding per plate and scope. The full interval rule is the
        # exclusion constraint (PostgreSQL) or trigger (SQLite) created by the migration.
        Index(
            "uq_bindings_open",
            "scope_id",
            "vehicle_type",
            "plate",
            unique=True,
            sqlite_where=valid_to.is_(None),
            postgresql_where=valid_to.is_(None),
        ),
    )


class BindingChange(Base):
    """The change feed: one row per binding write, ``seq`` gap-free per scope."""

    __tablename__ = "binding_changes"

    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    binding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bindings.id"), index=True)
    agent_id: Mapped[str] = mapped_column(String(40))
    vehicle_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    change: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(30))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)


class TransferCode(Base):
    __tablename__ = "transfer_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"))
    vehicle_type: Mapped[str] = mapped_column(String(12))
    plate: Mapped[str] = mapped_column(String(12))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(80))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_agent_id: Mapped[str | None] = mapped_column(String(40))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (Index("ix_transfer_codes_plate", "scope_id", "vehicle_type", "plate"),)


class TransferCodeFailure(Base):
    """A rejected transfer code, counted per agent for rate limiting (kept after the rollback)."""

    __tablename__ = "transfer_code_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (Index("ix_transfer_code_failures_agent_at", "agent_id", "at"),)


class CycleRun(Base):
    __tablename__ = "cycle_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope_id: Mapped[str] = mapped_column(ForeignKey("scopes.id"))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated: Mapped[int] = mapped_column(Integer, default=0)
    ended: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (Index("ix_cycle_runs_scope_ran_at", "scope_id", "ran_at"),)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(80))
    scope_id: Mapped[str | None] = mapped_column(String(40))
    vehicle_type: Mapped[str | None] = mapped_column(String(12))
    plate: Mapped[str | None] = mapped_column(String(12))
    object_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=created_at_default)

    __table_args__ = (Index("ix_audit_log_plate", "vehicle_type", "plate", "at"),)
