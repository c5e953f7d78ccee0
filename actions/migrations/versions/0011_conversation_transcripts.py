"""conversations and their transcripts, for the console's Conversations page

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_role", sa.String(length=10), nullable=False),
        sa.Column("last_text", sa.String(length=200), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("channel", "conversation_id", name=op.f("uq_conversations_channel")),
    )
    op.create_index("ix_conversations_last_at", "conversations", ["last_at", "id"])
    op.create_table(
        "transcript_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation"],
            ["conversations.id"],
            name=op.f("fk_transcript_lines_conversation_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_lines")),
    )
    op.create_index("ix_transcript_lines_conversation", "transcript_lines", ["conversation", "id"])


def downgrade() -> None:
    op.drop_index("ix_transcript_lines_conversation", table_name="transcript_lines")
    op.drop_table("transcript_lines")
    op.drop_index("ix_conversations_last_at", table_name="conversations")
    op.drop_table("conversations")
