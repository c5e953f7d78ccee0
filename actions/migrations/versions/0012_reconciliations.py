"""reconciliations: each run of the reconciliation with the gateways and what it found

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("differences", sa.JSON(), nullable=False),
    )
    op.create_index("ix_reconciliations_at", "reconciliations", ["at"])


def downgrade() -> None:
    op.drop_index("ix_reconciliations_at", table_name="reconciliations")
    op.drop_table("reconciliations")
