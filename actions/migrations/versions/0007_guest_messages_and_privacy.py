"""guest messages, message consent and the privacy requests' audit

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guest_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_guest_messages_reservation_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_messages")),
        sa.UniqueConstraint(
            "reservation_id", "kind", name=op.f("uq_guest_messages_reservation_id")
        ),
    )
    op.create_index("ix_guest_messages_due", "guest_messages", ["state", "due_at"])
    op.create_table(
        "message_consent",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "conversation_id", name=op.f("pk_message_consent")),
    )
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("verified_by", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index("ix_privacy_requests_at", "privacy_requests", ["at"])


def downgrade() -> None:
    op.drop_index("ix_privacy_requests_at", table_name="privacy_requests")
    op.drop_table("privacy_requests")
    op.drop_table("message_consent")
    op.drop_index("ix_guest_messages_due", table_name="guest_messages")
    op.drop_table("guest_messages")
