"""Pipeline step: one message at a time per conversation, in arrival order, within and across
processes (the ``ConversationOrder`` store: ``bot.stores``), with the conversation's session; a
re-delivered provider update ends here, unanswered."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from bot.core.context import Turn
from bot.core.locales import negotiate
from bot.core.observability import Metrics
from bot.core.pipeline import Next
from bot.core.respond import Responder
from bot.core.types import Outcome, TurnResult
from bot.steps.ratelimit import MESSAGES, RateLimiter, refusal
from bot.steps.sessions import dump_session, load_session
from bot.stores import keys
from bot.stores.base import ConversationOrder, Delivery, OverLimit, Redelivered, TurnTimeout

ConversationKey = Callable[[str], str]
"""A key of the conversation (sharing its hash tag) from the conversation's key."""


class Order:
    """Pipeline step: holds the conversation's turn while the rest of the pipeline runs, and
    its session: read as the turn is taken, written as it is given back (on Redis in the same
    round trips), unless the turn failed.

    Every message counts against its user's ``messages`` limit as the turn is asked for, and
    one over it is refused before it queues (``bot.steps.ratelimit.refusal``): on Redis the
    count costs no round trip of its own, which was a third of a turn's.

    The update's id is remembered as the turn is asked for (``dedupe_ttl_seconds``): ids that
    clients choose (REST ``message_id``, the widget's frame ``id``) are only unique per
    conversation, and provider ids stay unique in it too. ``reading`` names further keys of the
    conversation that later steps look up on every turn (``Turn.read``): read with the turn,
    they cost no round trip of their own.
    """

    def __init__(
        self,
        order: ConversationOrder,
        limiter: RateLimiter,
        responder: Responder,
        metrics: Metrics,
        session_ttl_seconds: int,
        session_max_bytes: int,
        default_locale: str,
        dedupe_ttl_seconds: int,
        reading: Sequence[ConversationKey] = (),
    ) -> None:
        self._order = order
        self._limiter = limiter
        self._responder = responder
        self._metrics = metrics
        self._session_ttl = session_ttl_seconds
        self._session_max_bytes = session_max_bytes
        self._default_locale = default_locale
        self._dedupe_ttl = dedupe_ttl_seconds
        self._reading = reading

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        started = time.perf_counter()
        conversation = turn.conversation_key
        message = turn.message
        delivery = (
            None
            if message.update_id is None
            else Delivery(keys.dedupe(conversation, message.update_id), self._dedupe_ttl)
        )
        carrying = keys.session(conversation)
        reading = [key_of(conversation) for key_of in self._reading]
        try:
            counted = self._limiter.messages(turn)
            async with self._order.turn(conversation, carrying, reading, delivery, counted) as held:
                self._metrics.order_wait_seconds.observe(time.perf_counter() - started)
                session = load_session(held.carried, message.conversation_id, self._default_locale)
                session.locale = negotiate(message.locale_hint, session.locale)
                session.user_id = message.user_id
                turn.session = session
                turn.read = held.read
                result = await call_next(turn)
                if session.forgotten:
                    held.keep(None, self._session_ttl)
                    return result
                for reply in result.replies:
                    session.remember("bot", reply.text)
                held.keep(dump_session(session, self._session_max_bytes), self._session_ttl)
                return result
        except OverLimit as over:
            return await refusal(turn, MESSAGES, over, self._responder, self._metrics)
        except Redelivered:
            self._metrics.dedupe_hits.labels(message.channel).inc()
            return TurnResult("duplicate")
        except TurnTimeout:
            self._metrics.order_timeouts.inc()
            replies = await self._responder.replies(turn, [Outcome("engine/busy")])
            return TurnResult("busy", replies, retry_after=1.0)
