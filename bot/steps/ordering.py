"""Pipeline step: one message at a time per conversation, in arrival order, within and across
processes (the ``ConversationOrder`` store: ``bot.stores``)."""

from __future__ import annotations

import time

from bot.core.context import Turn
from bot.core.observability import Metrics
from bot.core.pipeline import Next
from bot.core.respond import Responder
from bot.core.types import Outcome, TurnResult
from bot.stores.base import ConversationOrder, TurnTimeout


class Order:
    """Pipeline step: holds the conversation's turn while the rest of the pipeline runs."""

    def __init__(self, order: ConversationOrder, responder: Responder, metrics: Metrics) -> None:
        self._order = order
        self._responder = responder
        self._metrics = metrics

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        started = time.perf_counter()
        try:
            async with self._order.turn(turn.conversation_key):
                self._metrics.order_wait_seconds.observe(time.perf_counter() - started)
                return await call_next(turn)
        except TurnTimeout:
            self._metrics.order_timeouts.inc()
            replies = await self._responder.replies(turn, [Outcome("engine/busy")])
            return TurnResult("busy", replies, retry_after=1.0)
