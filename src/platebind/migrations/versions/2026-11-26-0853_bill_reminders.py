"""bill reminders

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 08:53:57.883487
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import platebind.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A member's own list of bills they were reminded of, and whether they want reminders.
    op.create_table(
        "bill_reminders",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("bill_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_bill_reminders_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_bill_reminders_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "bill_id", name=op.f("pk_bill_reminders")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bill_reminders", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("bill_reminders")

    op.drop_table("bill_reminders")
