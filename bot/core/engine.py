"""The engine: every channel's messages go through one pipeline to the dispatcher and back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic

from bot.core.clock import Now
from bot.core.context import Context, S, Turn
from bot.core.dispatch import Dispatcher
from bot.core.pipeline import Middleware, chain
from bot.core.respond import Responder
from bot.core.types import Message, TurnResult


class Engine(Generic[S]):
    def __init__(
        self,
        steps: Sequence[Middleware],
        dispatcher: Dispatcher[S],
        responder: Responder,
        services: S,
        now: Now,
    ) -> None:
        self._dispatcher = dispatcher
        self._responder = responder
        self._services = services
        self._now = now
        self._handle = chain(steps, self._respond)

    async def handle(self, message: Message) -> TurnResult:
        return await self._handle(Turn(message, self._now()))

    async def _respond(self, turn: Turn) -> TurnResult:
        assert turn.session is not None, "Order (the session) is missing"
        assert turn.parse is not None, "Understand is missing from the pipeline"
        context = Context(turn.message, turn.received_at, turn.parse, turn.session, self._services)
        outcomes = await self._dispatcher.dispatch(context)
        return TurnResult("handled", await self._responder.replies(turn, outcomes))
