"""gate events and parking sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:55:50.458376
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import platebind.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sessions are never deleted; the index finds a lot's sessions of a plate, exact and
    # confusable (plate_key), in one look-up on every exit.
    op.create_table(
        "parking_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.String(length=32), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_type", sa.String(length=20), nullable=False),
        sa.Column("binding_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("plate_key", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("card_free", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("binding_id", sa.Uuid(), nullable=True),
        sa.Column("entered_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entry_event_id", sa.String(length=64), nullable=False),
        sa.Column("exited_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exit_event_id", sa.String(length=64), nullable=True),
        sa.Column("exit_action", sa.String(length=10), nullable=True),
        sa.Column("match", sa.String(length=8), nullable=True),
        sa.Column("exit_read", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("charge_id", sa.Uuid(), nullable=True),
        sa.Column("bill_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'exiting', 'closed')", name=op.f("ck_parking_sessions_status")
        ),
        sa.CheckConstraint(
            "NOT card_free OR agent_id IS NOT NULL",
            name=op.f("ck_parking_sessions_card_free_agent"),
        ),
        sa.CheckConstraint(
            "amount IS NULL OR amount >= 0", name=op.f("ck_parking_sessions_amount")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_parking_sessions_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_parking_sessions_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_parking_sessions_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_parking_sessions_lot_id_lots")
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_parking_sessions_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_sessions")),
    )
    with op.batch_alter_table("parking_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_parking_sessions_agent_id"), ["agent_id"], unique=False
        )
        batch_op.create_index(
            "ix_parking_sessions_inside",
            ["lot_id", "binding_type", "plate_key", "status"],
            unique=False,
        )

    # Every LPR event with the answer first given to it (idempotent per lot and event id).
    op.create_table(
        "lpr_events",
        sa.Column("lot_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("gate", sa.String(length=5), nullable=False),
        sa.Column("plate_read", sa.String(length=32), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=True),
        sa.Column("vehicle_type", sa.String(length=20), nullable=False),
        sa.Column("at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("decided_action", sa.String(length=10), nullable=True),
        sa.Column("replayed", sa.Boolean(), nullable=False),
        sa.Column("image_ref", sa.String(length=500), nullable=True),
        sa.Column("received_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("gate IN ('entry', 'exit')", name=op.f("ck_lpr_events_gate")),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_lpr_events_confidence")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_lpr_events_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["parking_sessions.id"],
            name=op.f("fk_lpr_events_session_id_parking_sessions"),
        ),
        sa.PrimaryKeyConstraint("lot_id", "event_id", name=op.f("pk_lpr_events")),
    )
    with op.batch_alter_table("lpr_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lpr_events_session_id"), ["session_id"], unique=False)

    # Existing lots get the default threshold (a plain ADD COLUMN, also on SQLite).
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "confidence_threshold", sa.Double(), server_default=sa.text("0.8"), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("lpr_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lpr_events_session_id"))

    op.drop_table("lpr_events")
    with op.batch_alter_table("parking_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_parking_sessions_inside")
        batch_op.drop_index(batch_op.f("ix_parking_sessions_agent_id"))

    op.drop_table("parking_sessions")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_column("confidence_threshold")
