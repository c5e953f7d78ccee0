"""The one middleware shape that every pipeline step has, and how steps are chained.

A step receives the turn and the rest of the pipeline: it calls ``call_next`` to go on, or
returns a result of its own to stop the turn there (a duplicate, a refusal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Protocol

from bot.core.context import Turn
from bot.core.types import TurnResult

Next = Callable[[Turn], Awaitable[TurnResult]]


class Middleware(Protocol):
    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult: ...


def chain(steps: Sequence[Middleware], last: Next) -> Next:
    handler = last
    for step in reversed(steps):
        handler = partial(step, call_next=handler)
    return handler
