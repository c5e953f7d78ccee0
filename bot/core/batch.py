"""Records written together. ``Batch``: those that a turn hands over and does not wait for,
gathered in the process and written together, one write at a time, within ``seconds`` of the
first one waiting (or when someone needs them written: ``flush``), and at shutdown (``close``).
``Together``: those that a turn waits for, each write carrying whatever arrived during the last.

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


Answer = TypeVar("Answer")


class Together(Generic[Item, Answer]):
    """Records that a turn waits for, written together: those that arrive while a write is
    under way go in the next one, one write for all of them, and each caller gets its own
    answer. A write that fails together is tried for each record apart, so that a record that
    cannot be written fails only its own caller.

    A burst of new guests queued a unit of work each behind SQLite's one writer (their first
    greeting's variant, ``actions.experiments.ledger``); written together, they wait for
    about two units of work."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Answer]]]) -> None:
        """``write`` answers for each of its records, in their order."""
        self._write = write
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._writing: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Answer:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((item, answer))
        if self._writer is None:
            self._writer = loop.create_task(self._write_waiting())
        return await answer

    async def close(self) -> None:
        """Waits for the records given so far."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                self._writing, self._waiting = self._waiting, []
                await self._write_together(self._writing)
                self._writing = []
        finally:
            self._writer = None
            for _, answer in self._writing + self._waiting:  # cancelled: nobody is left waiting
                answer.cancel()
            self._writing, self._waiting = [], []

    async def _write_together(self, records: list[tuple[Item, asyncio.Future[Answer]]]) -> None:
        try:
            answers = await self._write([item for item, _ in records])
        except Exception as error:
            if len(records) == 1:
                _, answer = records[0]
                if not answer.done():  # its caller may have given up waiting
                    answer.set_exception(error)
                return
            log.warning("together_not_written_together", items=len(records))
            for record in records:
                await self._write_together([record])
            return
        for (_, answer), given in zip(records, answers, strict=True):
            if not answer.done():
                answer.set_result(given)
