"""Waiting for what other tasks, processes or Redis make true, where there is no event to await."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Return once ``condition`` holds; fail the test after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the state lives elsewhere: we can only look
            await asyncio.sleep(0.02)
