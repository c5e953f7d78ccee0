"""sandbox money movements

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_code", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_movements")),
        sa.UniqueConstraint("reference", name=op.f("uq_sandbox_movements_reference")),
    )
    op.create_index("ix_sandbox_movements_reservation", "sandbox_movements", ["reservation_code"])


def downgrade() -> None:
    op.drop_index("ix_sandbox_movements_reservation", table_name="sandbox_movements")
    op.drop_table("sandbox_movements")
