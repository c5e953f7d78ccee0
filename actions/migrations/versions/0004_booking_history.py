"""booking history for forecasts

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("property", sa.String(length=64), nullable=False),
        sa.Column("room_type", sa.String(length=40), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("arrival", sa.Date(), nullable=False),
        sa.Column("nights", sa.Integer(), nullable=False),
        sa.Column("weekend_nights", sa.Integer(), nullable=False),
        sa.Column("adults", sa.Integer(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("babies", sa.Integer(), nullable=False),
        sa.Column("adr", sa.Float(), nullable=False),
        sa.Column("is_canceled", sa.Boolean(), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("meal", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("market_segment", sa.String(length=40), nullable=False),
        sa.Column("distribution_channel", sa.String(length=40), nullable=False),
        sa.Column("deposit_type", sa.String(length=40), nullable=False),
        sa.Column("customer_type", sa.String(length=40), nullable=False),
        sa.Column("agent", sa.String(length=20), nullable=False),
        sa.Column("company", sa.String(length=20), nullable=False),
        sa.Column("is_repeated_guest", sa.Boolean(), nullable=False),
        sa.Column("previous_cancellations", sa.Integer(), nullable=False),
        sa.Column("previous_bookings_not_canceled", sa.Integer(), nullable=False),
        sa.Column("parking_spaces", sa.Integer(), nullable=False),
        sa.Column("special_requests", sa.Integer(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_history")),
        sa.UniqueConstraint("source", "row_key", name="uq_booking_history_source_row_key"),
    )
    op.create_index(
        "ix_booking_history_property_arrival", "booking_history", ["property", "arrival"]
    )


def downgrade() -> None:
    op.drop_index("ix_booking_history_property_arrival", table_name="booking_history")
    op.drop_table("booking_history")
