"""One item of a loop over independent items fails alone.

Background passes (webhook retries, hold expiry, proactive delivery, reconciliation) walk lists
whose items have nothing to do with each other; one that always fails must not stop the others
on every pass. ``LoopFailures.isolated`` wraps one item: its exception is logged (the type only,
see ``bot.core.observability``) and counted in ``rsv_loop_item_failures_total{loop=...}``, and the
loop goes on. Cancellation is not an ``Exception`` and still stops the loop.

``cancel_and_wait`` stops such a loop for sure: on Python 3.11 one cancellation may not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter

log = structlog.get_logger("rsv360.loops")


class LoopFailures:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            "rsv_loop_item_failures",
            "Items of a background loop that failed and were skipped",
            ["loop"],
            registry=registry,
        )

    @contextmanager
    def isolated(self, loop: str) -> Iterator[None]:
        try:
            yield
        except Exception:
            self.count(loop)
            log.exception("loop_item_failed", loop=loop)

    def count(self, loop: str) -> None:
        """An item failure the loop caught and logged itself."""
        self._counter.labels(loop).inc()


async def cancel_and_wait(task: asyncio.Task[Any], every_seconds: float = 0.1) -> None:
    """Cancel ``task`` and wait until it has ended, whatever it raised.

    Python 3.11's ``asyncio.wait_for``, which redis-py puts around every socket write, swallows
    a cancellation that lands just as the call it waits for completes (bpo-42130, fixed in
    3.12): a loop over Redis cancelled once can go on for ever. So the cancellation is repeated
    until the task ends.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=every_seconds)
    if not task.cancelled():
        task.exception()  # retrieved: a loop stopped at shutdown has nothing left to report
