"""registry core

Revision ID: 0001
Revises:
Create Date: 2026-11-26 04:53:09.478960
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import platebind.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("support_phone", sa.String(length=40), nullable=True),
        sa.Column("support_url", sa.String(length=500), nullable=True),
        sa.Column("unbind_instructions", sa.Text(), nullable=True),
        sa.Column("unbind_url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'offboarded')", name=op.f("ck_agents_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=80), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=True),
        sa.Column("scope_id", sa.String(length=40), nullable=True),
        sa.Column("vehicle_type", sa.String(length=12), nullable=True),
        sa.Column("plate", sa.String(length=12), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_plate", ["vehicle_type", "plate", "at"], unique=False)

    op.create_table(
        "closed_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_closed_days")),
    )
    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("effective_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint(
            "event_type",
            "object_id",
            "effective_at",
            name=op.f("uq_outbox_events_event_type_object_id_effective_at"),
        ),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "scopes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cutover_minute", sa.Integer(), nullable=False),
        sa.Column("lead_seconds", sa.Integer(), nullable=False),
        sa.Column("immediate", sa.Boolean(), nullable=False),
        sa.Column("business_days_only", sa.Boolean(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('lots', 'roadside', 'partner')", name=op.f("ck_scopes_kind")),
        sa.CheckConstraint(
            "cutover_minute >= 0 AND cutover_minute < 1440", name=op.f("ck_scopes_cutover_minute")
        ),
        sa.CheckConstraint("lead_seconds >= 0", name=op.f("ck_scopes_lead_seconds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scopes")),
    )
    op.create_table(
        "transfer_code_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_code_failures")),
    )
    with op.batch_alter_table("transfer_code_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transfer_code_failures_agent_at", ["agent_id", "at"], unique=False
        )

    op.create_table(
        "accreditations",
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_accreditations_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_accreditations_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("agent_id", "scope_id", name=op.f("pk_accreditations")),
    )
    op.create_table(
        "bindings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("valid_from", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("requested_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_requested_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=30), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_bindings_interval")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_bindings_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_bindings_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bindings")),
    )
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bindings_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            "ix_bindings_plate", ["scope_id", "vehicle_type", "plate", "valid_from"], unique=False
        )
        batch_op.create_index(
            "uq_bindings_open",
            ["scope_id", "vehicle_type", "plate"],
            unique=True,
            sqlite_where=sa.text("valid_to IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL"),
        )

    op.create_table(
        "cycle_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("window_start", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ran_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated", sa.Integer(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_cycle_runs_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_runs")),
    )
    with op.batch_alter_table("cycle_runs", schema=None) as batch_op:
        batch_op.create_index("ix_cycle_runs_scope_ran_at", ["scope_id", "ran_at"], unique=False)

    op.create_table(
        "plate_locks",
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("writes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_plate_locks_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("scope_id", "vehicle_type", "plate", name=op.f("pk_plate_locks")),
    )
    op.create_table(
        "transfer_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("used_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by_agent_id", sa.String(length=40), nullable=True),
        sa.Column("voided_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_transfer_codes_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_transfer_codes_code_hash")),
    )
    with op.batch_alter_table("transfer_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transfer_codes_plate", ["scope_id", "vehicle_type", "plate"], unique=False
        )

    op.create_table(
        "binding_changes",
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("binding_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("valid_from", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("recorded_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name=op.f("fk_binding_changes_binding_id_bindings")
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_binding_changes_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("scope_id", "seq", name=op.f("pk_binding_changes")),
    )
    with op.batch_alter_table("binding_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_binding_changes_binding_id"), ["binding_id"], unique=False
        )
    _create_interval_guard()


# The exclusivity invariant over whole intervals: no two bindings of one plate in one scope
# overlap. Cancelled bindings are empty intervals [t, t) and overlap nothing.
PG_EXCLUSION = """
ALTER TABLE bindings ADD CONSTRAINT ex_bindings_no_overlap EXCLUDE USING gist (
    scope_id WITH =, vehicle_type WITH =, plate WITH =,
    tstzrange(valid_from, coalesce(valid_to, 'infinity'::timestamptz), '[)') WITH &&
)
"""

# SQLite has no exclusion constraint; a trigger refuses the same overlaps. Times are stored
# as naive UTC text of one fixed width, so text comparison is time comparison.
SQLITE_OVERLAP_CHECK = """
CREATE TRIGGER tr_bindings_no_overlap_{event} BEFORE {event} ON bindings
WHEN NEW.valid_to IS NULL OR NEW.valid_to > NEW.valid_from
BEGIN
    SELECT RAISE(ABORT, 'binding interval overlaps another binding of the plate')
    WHERE EXISTS (
        SELECT 1 FROM bindings AS other
        WHERE other.scope_id = NEW.scope_id
          AND other.vehicle_type = NEW.vehicle_type
          AND other.plate = NEW.plate
          AND other.id != NEW.id
          AND (other.valid_to IS NULL OR other.valid_to > other.valid_from)
          AND other.valid_from < coalesce(NEW.valid_to, '9999-12-31')
          AND coalesce(other.valid_to, '9999-12-31') > NEW.valid_from
    );
END
"""


def _create_interval_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(PG_EXCLUSION)
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(SQLITE_OVERLAP_CHECK.format(event=event))


def _drop_interval_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE bindings DROP CONSTRAINT ex_bindings_no_overlap")
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(f"DROP TRIGGER tr_bindings_no_overlap_{event}")


def downgrade() -> None:
    _drop_interval_guard()
    with op.batch_alter_table("binding_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_binding_changes_binding_id"))

    op.drop_table("binding_changes")
    with op.batch_alter_table("transfer_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_transfer_codes_plate")

    op.drop_table("transfer_codes")
    op.drop_table("plate_locks")
    with op.batch_alter_table("cycle_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_cycle_runs_scope_ran_at")

    op.drop_table("cycle_runs")
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bindings_open",
            sqlite_where=sa.text("valid_to IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL"),
        )
        batch_op.drop_index("ix_bindings_plate")
        batch_op.drop_index(batch_op.f("ix_bindings_agent_id"))

    op.drop_table("bindings")
    op.drop_table("accreditations")
    with op.batch_alter_table("transfer_code_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_transfer_code_failures_agent_at")

    op.drop_table("transfer_code_failures")
    op.drop_table("scopes")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_events_agent_id"))

    op.drop_table("outbox_events")
    op.drop_table("closed_days")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_plate")

    op.drop_table("audit_log")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_subject_id"))

    op.drop_table("api_keys")
    op.drop_table("agents")
