"""reservation search: the console's Bookings page lists the newest reservations first and
filters them by stay dates

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reservations_created", "reservations", ["created_at", "id"])
    op.create_index("ix_reservations_stay", "reservations", ["checkin", "checkout"])


def downgrade() -> None:
    op.drop_index("ix_reservations_stay", table_name="reservations")
    op.drop_index("ix_reservations_created", table_name="reservations")
