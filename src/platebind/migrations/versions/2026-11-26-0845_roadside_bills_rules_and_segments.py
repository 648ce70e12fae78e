"""roadside bills, rules and segments; bills' surcharge and reminder time

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 08:45:29.750482
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import platebind.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "roadside_rules",
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("rules", JSON_DOC, nullable=False),
        sa.Column("updated_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_roadside_rules_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("scope_id", name=op.f("pk_roadside_rules")),
    )
    op.create_table(
        "roadside_segments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payex", sa.Text(), nullable=False),
        sa.Column("tariff", JSON_DOC, nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_roadside_segments_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roadside_segments")),
    )
    with op.batch_alter_table("roadside_segments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roadside_segments_scope_id"), ["scope_id"], unique=False
        )

    op.create_table(
        "roadside_bills",
        sa.Column("bill_no", sa.String(length=40), nullable=False),
        sa.Column("bill_id", sa.Uuid(), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("vehicle_type", sa.String(length=20), nullable=False),
        sa.Column("binding_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("billing_day", sa.Date(), nullable=False),
        sa.Column("issuer", sa.String(length=80), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("answer", JSON_DOC, nullable=False),
        sa.Column("surcharged_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_roadside_bills_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_roadside_bills_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_roadside_bills_scope_id_scopes")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["roadside_segments.id"],
            name=op.f("fk_roadside_bills_segment_id_roadside_segments"),
        ),
        sa.PrimaryKeyConstraint("bill_no", name=op.f("pk_roadside_bills")),
        sa.UniqueConstraint("bill_id", name=op.f("uq_roadside_bills_bill_id")),
    )
    # One motorcycle bill a plate a day: the plate's bills of a billing day in one look-up.
    with op.batch_alter_table("roadside_bills", schema=None) as batch_op:
        batch_op.create_index(
            "ix_roadside_bills_plate_day",
            ["scope_id", "binding_type", "plate", "billing_day"],
            unique=False,
        )

    # Bills learn a surcharge (owed on top of the amount) and when the reminder went out; the
    # daily job finds overdue roadside bills by (kind, status, due_at).
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("surcharge", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reminded_at", platebind.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(op.f("ck_bills_surcharge"), "surcharge >= 0")
        batch_op.create_index("ix_bills_due", ["kind", "status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_index("ix_bills_due")
        batch_op.drop_constraint(op.f("ck_bills_surcharge"), type_="check")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("surcharge")

    with op.batch_alter_table("roadside_bills", schema=None) as batch_op:
        batch_op.drop_index("ix_roadside_bills_plate_day")

    op.drop_table("roadside_bills")
    with op.batch_alter_table("roadside_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roadside_segments_scope_id"))

    op.drop_table("roadside_segments")
    op.drop_table("roadside_rules")
