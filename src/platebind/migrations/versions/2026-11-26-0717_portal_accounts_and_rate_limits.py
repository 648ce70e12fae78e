"""portal accounts and rate limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:17:25.045988
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import platebind.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # members.owner_key is an HMAC of the national ID under PLATEBIND_ID_HASH_KEY, never the ID.
    op.create_table(
        "members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("owner_key", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("registered_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("email", name=op.f("uq_members_email")),
        sa.UniqueConstraint("owner_key", name=op.f("uq_members_owner_key")),
    )
    op.create_table(
        "outgoing_emails",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("queued_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_emails")),
    )
    with op.batch_alter_table("outgoing_emails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outgoing_emails_due", ["sent_at", "next_attempt_at"], unique=False
        )

    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_counters")),
    )
    op.create_table(
        "change_watches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("effective_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_change_watches_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["scopes.id"], name=op.f("fk_change_watches_scope_id_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_watches")),
        sa.UniqueConstraint(
            "member_id",
            "scope_id",
            "vehicle_type",
            "plate",
            "effective_at",
            name=op.f("uq_change_watches_member_id_scope_id_vehicle_type_plate_effective_at"),
        ),
    )
    with op.batch_alter_table("change_watches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_change_watches_due", ["delivered_at", "effective_at"], unique=False
        )

    op.create_table(
        "member_plates",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("added_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_plates_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "member_id", "vehicle_type", "plate", name=op.f("pk_member_plates")
        ),
    )
    op.create_table(
        "notices",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", platebind.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_notices_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_member_id"), ["member_id"], unique=False)

    op.create_table(
        "portal_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("started_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_portal_sessions_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_portal_sessions")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_member_id"), ["member_id"], unique=False
        )

    with op.batch_alter_table("scopes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scopes", schema=None) as batch_op:
        batch_op.drop_column("name_en")

    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_member_id"))
        batch_op.drop_index(batch_op.f("ix_portal_sessions_expires_at"))

    op.drop_table("portal_sessions")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_member_id"))

    op.drop_table("notices")
    op.drop_table("member_plates")
    with op.batch_alter_table("change_watches", schema=None) as batch_op:
        batch_op.drop_index("ix_change_watches_due")

    op.drop_table("change_watches")
    op.drop_table("rate_counters")
    with op.batch_alter_table("outgoing_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_emails_due")

    op.drop_table("outgoing_emails")
    op.drop_table("members")
