"""Records that a turn hands over and does not wait for: gathered in the process and written
together, one write at a time, within ``seconds`` of the first one waiting (or when someone
needs them written: ``flush``), and at shutdown (``close``).

Under load, one database transaction per record made the database the turn's bottleneck: on
SQLite a hundred conversations queued seconds for its one writer. One transaction for all the
records of half a second costs about what one record did.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger("rsv360.batch")

Item = TypeVar("Item")


class Batch(Generic[Item]):
    def __init__(self, write: Callable[[list[Item]], Awaitable[None]], seconds: float) -> None:
        self._write = write
        self._seconds = seconds
        self._waiting: list[Item] = []
        self._writing = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    def add(self, item: Item) -> None:
        """Have ``item`` written within ``seconds``, with the others waiting then."""
        self._waiting.append(item)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._write_soon())

    async def flush(self) -> None:
        """Write what is waiting now (after a write in progress): all together, or, when that
        fails, each apart, so that a record that cannot be written loses only itself."""
        async with self._writing:
            items, self._waiting = self._waiting, []
            if not items:
                return
            try:
                await self._write(items)
            except Exception:
                log.warning("batch_not_written_together", items=len(items))
                for item in items:
                    try:
                        await self._write([item])
                    except Exception:
                        log.exception("batch_item_not_written")

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.flush()

    async def _write_soon(self) -> None:
        try:
            await asyncio.sleep(self._seconds)
        finally:
            self._timer = None
        await self.flush()
