"""Work a provider channel does after acknowledging the provider: bounded, contained, drained.

Providers want an answer at once (Telegram re-sends after 60 s, Slack after 3 s, Discord drops
an interaction not deferred within 3 s), so the turn runs after the acknowledgement. At most
``limit`` turns run at once: ``start`` returns only when its work has a slot, so a caller that
answers its provider after ``start`` (Telegram's webhook) holds the provider back instead of
letting a backlog of turns pile up behind their conversations' order and time out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

MAX_IN_FLIGHT = 128

log = structlog.get_logger("rsv360.channels")


class BackgroundWork:
    def __init__(self, channel: str, limit: int = MAX_IN_FLIGHT) -> None:
        if limit < 1:
            raise ValueError(f"at least one piece of work must be able to run, not {limit}")
        self.limit = limit
        self._channel = channel
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, work: Coroutine[Any, Any, object]) -> None:
        """Run ``work`` in a task of its own; returns once it is running.

        The task exists (and ``drain`` waits for it) from the call on, even while it waits for
        a slot, so work an adapter has acknowledged is never lost at shutdown.
        """
        running = asyncio.Event()
        task = asyncio.create_task(self._run(work, running))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: running.set())  # cancelled before it had a slot
        await running.wait()

    async def drain(self) -> None:
        """Wait for all the work started, including work started meanwhile (shutdown; tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, work: Coroutine[Any, Any, object], running: asyncio.Event) -> None:
        try:
            async with self._slots:
                running.set()
                await work
        except Exception:  # the engine answers its own failures; this is the adapter's
            log.exception("channel_work_failed", channel=self._channel)
        finally:
            work.close()  # cancelled while waiting for a slot: it never ran, and must not warn
