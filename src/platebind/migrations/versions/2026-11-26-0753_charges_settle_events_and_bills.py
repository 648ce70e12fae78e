"""charges, settle events and bills

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 07:53:43.222677
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import platebind.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Charges are never edited once settled: corrections are new negative charges, and the
    # partial unique index keeps one original charge per (source, source_id).
    op.create_table(
        "charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("corrects_charge_id", sa.Uuid(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("started_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("match", sa.String(length=8), nullable=False),
        sa.Column("raw_plate", sa.String(length=32), nullable=True),
        sa.Column("requested_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(corrects_charge_id IS NULL AND amount >= 0) OR "
            "(corrects_charge_id IS NOT NULL AND amount < 0 AND status = 'paid')",
            name=op.f("ck_charges_amount"),
        ),
        sa.CheckConstraint(
            "(status = 'requested') = (settled_at IS NULL)", name=op.f("ck_charges_settled")
        ),
        sa.CheckConstraint("match IN ('exact', 'fuzzy')", name=op.f("ck_charges_match")),
        sa.CheckConstraint(
            "status IN ('requested', 'paid', 'declined')", name=op.f("ck_charges_status")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_charges_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["corrects_charge_id"],
            ["charges.id"],
            name=op.f("fk_charges_corrects_charge_id_charges"),
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_charges_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_charges_agent_listing", ["agent_id", "status", "requested_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_charges_corrects_charge_id"), ["corrects_charge_id"], unique=False
        )
        batch_op.create_index("ix_charges_unsettled", ["status", "requested_at"], unique=False)
        batch_op.create_index(
            "uq_charges_source",
            ["source", "source_id"],
            unique=True,
            sqlite_where=sa.text("corrects_charge_id IS NULL"),
            postgresql_where=sa.text("corrects_charge_id IS NULL"),
        )

    op.create_table(
        "bills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("started_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("issued_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payment_reference", sa.String(length=100), nullable=True),
        sa.Column("paid_by", sa.String(length=80), nullable=True),
        sa.Column("voided_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name=op.f("ck_bills_paid")),
        sa.CheckConstraint(
            "(status = 'void') = (voided_at IS NOT NULL)", name=op.f("ck_bills_void")
        ),
        sa.CheckConstraint("kind IN ('lot', 'roadside')", name=op.f("ck_bills_kind")),
        sa.CheckConstraint("status IN ('unpaid', 'paid', 'void')", name=op.f("ck_bills_status")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_bills_amount")),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_bills_charge_id_charges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bills")),
        sa.UniqueConstraint(
            "source", "source_id", "reason", name=op.f("uq_bills_source_source_id_reason")
        ),
    )
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bills_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index(
            "ix_bills_plate", ["vehicle_type", "plate", "status", "issued_at"], unique=False
        )

    # Statement lines: one per charge (paid, declined or a correction), dated by when it happened.
    op.create_table(
        "settle_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('paid', 'declined', 'correction')", name=op.f("ck_settle_events_kind")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_settle_events_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_settle_events_charge_id_charges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settle_events")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_settle_events_charge_id")),
    )
    with op.batch_alter_table("settle_events", schema=None) as batch_op:
        batch_op.create_index("ix_settle_events_agent_at", ["agent_id", "at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("settle_events", schema=None) as batch_op:
        batch_op.drop_index("ix_settle_events_agent_at")

    op.drop_table("settle_events")
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_index("ix_bills_plate")
        batch_op.drop_index(batch_op.f("ix_bills_charge_id"))

    op.drop_table("bills")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_charges_source",
            sqlite_where=sa.text("corrects_charge_id IS NULL"),
            postgresql_where=sa.text("corrects_charge_id IS NULL"),
        )
        batch_op.drop_index("ix_charges_unsettled")
        batch_op.drop_index(batch_op.f("ix_charges_corrects_charge_id"))
        batch_op.drop_index("ix_charges_agent_listing")

    op.drop_table("charges")
