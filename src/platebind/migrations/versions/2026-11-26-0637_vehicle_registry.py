"""vehicle registry

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 06:37:20.629270
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import platebind.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # National IDs are never stored: owner_id_hash is an HMAC under PLATEBIND_ID_HASH_KEY.
    op.create_table(
        "vehicles",
        sa.Column("vehicle_type", sa.String(length=12), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("owner_id_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", platebind.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "vehicle_type IN ('car', 'motorcycle')", name=op.f("ck_vehicles_vehicle_type")
        ),
        sa.PrimaryKeyConstraint("vehicle_type", "plate", name=op.f("pk_vehicles")),
    )


def downgrade() -> None:
    op.drop_table("vehicles")
