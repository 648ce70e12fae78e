"""parking lots

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 07:35:22.530425
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import platebind.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Lots as the city's feed names them; entrances and per-class tariff readings go with them.
    op.create_table(
        "lots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("district", sa.String(length=20), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("capacity_car", sa.Integer(), nullable=True),
        sa.Column("capacity_motorcycle", sa.Integer(), nullable=True),
        sa.Column("capacity_heavy_motorcycle", sa.Integer(), nullable=True),
        sa.Column("payex", sa.Text(), nullable=False),
        sa.Column("imported_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "capacity_car >= 0 AND capacity_motorcycle >= 0 AND capacity_heavy_motorcycle >= 0",
            name=op.f("ck_lots_capacities"),
        ),
        sa.ForeignKeyConstraint(["scope_id"], ["scopes.id"], name=op.f("fk_lots_scope_id_scopes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
    )
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lots_scope_id"), ["scope_id"], unique=False)

    op.create_table(
        "lot_entrances",
        sa.Column("lot_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "latitude >= -90 AND latitude <= 90", name=op.f("ck_lot_entrances_latitude")
        ),
        sa.CheckConstraint(
            "longitude >= -180 AND longitude <= 180", name=op.f("ck_lot_entrances_longitude")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_lot_entrances_lot_id_lots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lot_id", "position", name=op.f("pk_lot_entrances")),
    )
    op.create_table(
        "lot_tariffs",
        sa.Column("lot_id", sa.String(length=32), nullable=False),
        sa.Column("tariff_class", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "tariff",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "draft",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "unread",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "conflicts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('full', 'partial', 'unread', 'absent')", name=op.f("ck_lot_tariffs_status")
        ),
        sa.CheckConstraint(
            "tariff_class IN ('car', 'motorcycle', 'heavy_motorcycle')",
            name=op.f("ck_lot_tariffs_tariff_class"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_lot_tariffs_lot_id_lots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lot_id", "tariff_class", name=op.f("pk_lot_tariffs")),
    )


def downgrade() -> None:
    op.drop_table("lot_tariffs")
    op.drop_table("lot_entrances")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lots_scope_id"))

    op.drop_table("lots")
