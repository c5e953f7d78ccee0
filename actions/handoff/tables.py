"""Guest conversations and their transcripts: one row per conversation (for the console's
list: its channel, language and last message) and one per line said in it, by the guest, the
bot or a person of the team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from actions.tables import Base


class ConversationRecord(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel", "conversation_id"),
        Index("ix_conversations_last_at", "last_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str] = mapped_column(String(128))
    locale: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_role: Mapped[str] = mapped_column(String(10))
    last_text: Mapped[str | None] = mapped_column(String(200))
    """The start of the last line, for the list (None: a button was pressed)."""
    lines: Mapped[int]


class TranscriptLine(Base):
    __tablename__ = "transcript_lines"
    __table_args__ = (Index("ix_transcript_lines_conversation", "conversation", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(10))
    """``guest``, ``bot`` or ``staff``."""
    author: Mapped[str | None] = mapped_column(String(254))
    """Who of the team wrote a ``staff`` line (their e-mail or chat identity)."""
    text: Mapped[str | None] = mapped_column(Text)
    """None: the guest pressed a button."""
