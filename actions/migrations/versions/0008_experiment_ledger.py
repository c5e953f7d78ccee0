"""experiment ledger: first exposures, goal events and decisions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiment_exposures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("conversation", sa.String(length=32), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_exposures")),
        sa.UniqueConstraint(
            "experiment", "version", "subject", name=op.f("uq_experiment_exposures_experiment")
        ),
    )
    op.create_index(
        "ix_experiment_exposures_conversation",
        "experiment_exposures",
        ["conversation", "first_at"],
    )
    op.create_table(
        "experiment_conversions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_conversions")),
        sa.UniqueConstraint(
            "experiment",
            "version",
            "subject",
            "event",
            name=op.f("uq_experiment_conversions_experiment"),
        ),
    )
    op.create_index(
        "ix_experiment_conversions_experiment",
        "experiment_conversions",
        ["experiment", "version", "at"],
    )
    op.create_table(
        "experiment_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("winner", sa.String(length=60), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_decisions")),
        sa.UniqueConstraint(
            "experiment", "version", name=op.f("uq_experiment_decisions_experiment")
        ),
    )


def downgrade() -> None:
    op.drop_table("experiment_decisions")
    op.drop_index("ix_experiment_conversions_experiment", table_name="experiment_conversions")
    op.drop_table("experiment_conversions")
    op.drop_index("ix_experiment_exposures_conversation", table_name="experiment_exposures")
    op.drop_table("experiment_exposures")
