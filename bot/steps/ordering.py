"""Pipeline step: one message at a time per conversation, in arrival order, within and across
processes (the ``ConversationOrder`` store: ``bot.stores``), with the conversation's session."""

from __future__ import annotations

import time

from bot.core.context import Turn
from bot.core.locales import negotiate
from bot.core.observability import Metrics
from bot.core.pipeline import Next
from bot.core.respond import Responder
from bot.core.types import Outcome, TurnResult
from bot.steps.sessions import dump_session, load_session
from bot.stores import keys
from bot.stores.base import ConversationOrder, TurnTimeout


class Order:
    """Pipeline step: holds the conversation's turn while the rest of the pipeline runs, and
    its session: read as the turn is taken, written as it is given back (on Redis in the same
    round trips), unless the turn failed."""

    def __init__(
        self,
        order: ConversationOrder,
        responder: Responder,
        metrics: Metrics,
        session_ttl_seconds: int,
        session_max_bytes: int,
        default_locale: str,
    ) -> None:
        self._order = order
        self._responder = responder
        self._metrics = metrics
        self._session_ttl = session_ttl_seconds
        self._session_max_bytes = session_max_bytes
        self._default_locale = default_locale

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        started = time.perf_counter()
        carrying = keys.session(turn.conversation_key)
        try:
            async with self._order.turn(turn.conversation_key, carrying) as held:
                self._metrics.order_wait_seconds.observe(time.perf_counter() - started)
                message = turn.message
                session = load_session(held.carried, message.conversation_id, self._default_locale)
                session.locale = negotiate(message.locale_hint, session.locale)
                session.user_id = message.user_id
                turn.session = session
                result = await call_next(turn)
                if session.forgotten:
                    held.keep(None, self._session_ttl)
                    return result
                for reply in result.replies:
                    session.remember("bot", reply.text)
                held.keep(dump_session(session, self._session_max_bytes), self._session_ttl)
                return result
        except TurnTimeout:
            self._metrics.order_timeouts.inc()
            replies = await self._responder.replies(turn, [Outcome("engine/busy")])
            return TurnResult("busy", replies, retry_after=1.0)
