"""setting revisions: the settings an admin saves in the console (rate limits, experiments,
knowledge, price limits, alert routes), one row per save; the latest per name is current

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "setting_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=254), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_setting_revisions_name", "setting_revisions", ["name", "id"])


def downgrade() -> None:
    op.drop_index("ix_setting_revisions_name", table_name="setting_revisions")
    op.drop_table("setting_revisions")
