"""Conversation state: one JSON document per conversation, loaded and saved once per turn."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any

import structlog
from redis.asyncio import Redis

from bot import keys
from bot.context import Turn
from bot.locales import negotiate
from bot.pipeline import Next
from bot.types import TurnResult

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

    def remember(self, role: str, text: str, intent: str | None = None) -> None:
        self.history.append({"role": role, "text": text[:500], "intent": intent})
        del self.history[:-HISTORY_LIMIT]


SESSION_FIELDS = tuple(field.name for field in fields(Session) if field.name != "form")


def dump_session(session: Session, max_bytes: int) -> str:
    """Serialize, dropping the oldest history (then the form) until it fits ``max_bytes``."""
    # Shallow on purpose: json.dumps walks the nested values itself (asdict would copy them).
    document: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        **{name: getattr(session, name) for name in SESSION_FIELDS},
        "form": None if session.form is None else vars(session.form),
    }
    raw = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    while len(raw.encode()) > max_bytes and document["history"]:
        document["history"] = document["history"][len(document["history"]) // 2 + 1 :]
        raw = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    if len(raw.encode()) > max_bytes:
        log.warning("session_over_cap_reset", size=len(raw.encode()), max_bytes=max_bytes)
        document.update(form=None, data={}, history=[])
        raw = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return raw


def load_session(raw: str | None, conversation_id: str, locale: str) -> Session:
    """Parse a stored document; an unreadable or unknown-version one starts a fresh session."""
    fresh = Session(conversation_id=conversation_id, locale=locale)
    if raw is None:
        return fresh
    try:
        document = json.loads(raw)
        if document.pop("v", None) != SCHEMA_VERSION:
            log.warning("session_schema_unknown", conversation=conversation_id)
            return fresh
        form = document.pop("form", None)
        return Session(**document, form=FormState(**form) if form else None)
    except (ValueError, TypeError):
        log.warning("session_unreadable", conversation=conversation_id)
        return fresh


class SessionStore(ABC):
    @abstractmethod
    async def read(self, conversation_key: str) -> str | None: ...

    @abstractmethod
    async def write(self, conversation_key: str, raw: str, ttl_seconds: int) -> None: ...


class MemorySessionStore(SessionStore):
    SWEEP_EVERY = 1024

    def __init__(self) -> None:
        self._documents: dict[str, tuple[str, float]] = {}
        self._writes = 0

    async def read(self, conversation_key: str) -> str | None:
        entry = self._documents.get(conversation_key)
        if entry is None:
            return None
        raw, expires_at = entry
        if expires_at <= time.monotonic():
            del self._documents[conversation_key]
            return None
        return raw

    async def write(self, conversation_key: str, raw: str, ttl_seconds: int) -> None:
        now = time.monotonic()
        self._documents[conversation_key] = (raw, now + ttl_seconds)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            # Conversations that never come back would otherwise stay in memory for good.
            expired = [key for key, (_, expires_at) in self._documents.items() if expires_at <= now]
            for key in expired:
                del self._documents[key]


class RedisSessionStore(SessionStore):
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def read(self, conversation_key: str) -> str | None:
        raw = await self._redis.get(keys.session(conversation_key))
        return raw.decode() if isinstance(raw, bytes) else raw

    async def write(self, conversation_key: str, raw: str, ttl_seconds: int) -> None:
        await self._redis.set(keys.session(conversation_key), raw, ex=ttl_seconds)


class LoadSession:
    """Pipeline step: loads the conversation's session before the turn and saves it after."""

    def __init__(
        self, store: SessionStore, ttl_seconds: int, max_bytes: int, default_locale: str
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes
        self._default_locale = default_locale

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        message = turn.message
        raw = await self._store.read(turn.conversation_key)
        session = load_session(raw, message.conversation_id, self._default_locale)
        session.locale = negotiate(message.locale_hint, session.locale)
        session.user_id = message.user_id
        turn.session = session
        result = await call_next(turn)
        for reply in result.replies:
            session.remember("bot", reply.text)
        await self._store.write(
            turn.conversation_key, dump_session(session, self._max_bytes), self._ttl
        )
        return result
