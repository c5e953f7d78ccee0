"""Conversation state: one JSON document per conversation, loaded and saved once per turn."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import orjson
import structlog

SCHEMA_VERSION = 1
HISTORY_LIMIT = 20

log = structlog.get_logger(__name__)


@dataclass
class FormState:
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    asking: str | None = None
    confirming: bool = False


@dataclass
class Session:
    conversation_id: str
    locale: str
    user_id: str = ""
    form: FormState | None = None
    experiments: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    slowed_down: bool = False
    forgotten: bool = False
    """The guest's data was erased this turn: the session is deleted after it, not saved."""

    def remember(self, role: str, text: str, intent: str | None = None) -> None:
        self.history.append({"role": role, "text": text[:500], "intent": intent})
        del self.history[:-HISTORY_LIMIT]


SESSION_FIELDS = tuple(
    field.name for field in fields(Session) if field.name not in ("form", "forgotten")
)
"""What is stored (``forgotten`` lives for one turn; ``form`` is stored apart)."""


def dump_session(session: Session, max_bytes: int) -> str:
    """Serialize, dropping the oldest history (then the form) until it fits ``max_bytes``."""
    # Shallow on purpose: the encoder walks the nested values itself (asdict would copy them).
    document: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        **{name: getattr(session, name) for name in SESSION_FIELDS},
        "form": None if session.form is None else vars(session.form),
    }
    raw = _encoded(document)
    while len(raw) > max_bytes and document["history"]:
        document["history"] = document["history"][len(document["history"]) // 2 + 1 :]
        raw = _encoded(document)
    if len(raw) > max_bytes:
        log.warning("session_over_cap_reset", size=len(raw), max_bytes=max_bytes)
        document.update(form=None, data={}, history=[])
        raw = _encoded(document)
    return raw.decode()


def _encoded(document: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (orjson: a tenth of the standard library's time, on every turn)."""
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)


def load_session(raw: str | None, conversation_id: str, locale: str) -> Session:
    """Parse a stored document; an unreadable or unknown-version one starts a fresh session."""
    fresh = Session(conversation_id=conversation_id, locale=locale)
    if raw is None:
        return fresh
    try:
        document = orjson.loads(raw)
        if document.pop("v", None) != SCHEMA_VERSION:
            log.warning("session_schema_unknown", conversation=conversation_id)
            return fresh
        form = document.pop("form", None)
        return Session(**document, form=FormState(**form) if form else None)
    except (ValueError, TypeError):
        log.warning("session_unreadable", conversation=conversation_id)
        return fresh
