"""The forecasts' heavy half in a child process, for a web worker that answers forecasts itself
(the embedded default runs the jobs in ``rsv360 serve``).

pandas, scikit-learn, matplotlib and the models hold about 190 MB once a forecast is asked; in
the web worker they would stay for its whole life, in every worker. Here a child process,
started on the first question or training, holds them, and stops after ``idle_seconds``
without work, so the web worker stays small (docs/benchmarks.md, "Memory per worker"). The
child is spawned, not forked: it starts clean rather than with a copy of the server's sockets
and event loop, and opens its own connection to the database.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from multiprocessing.util import Finalize
from pathlib import Path
from typing import TypeVar

import structlog

from actions.forecasts.desk import Answer, Asked, Forecasting

log = structlog.get_logger("rsv360.forecasts")

Given = TypeVar("Given")
Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class Recipe:
    """What the child needs to make its own heavy half."""

    database_url: str
    models_dir: Path
    demo_property: str
    log_format: str
    log_level: str


class ForecastProcess:
    def __init__(self, recipe: Recipe, idle_seconds: float) -> None:
        self._recipe = recipe
        self._idle_seconds = idle_seconds
        self._pool: ProcessPoolExecutor | None = None
        self._working = 0
        self._stop_when_idle: asyncio.TimerHandle | None = None

    async def train_missing(self, today: date) -> None:
        await self._run(_train_missing, today)

    async def answer(self, asked: Asked) -> Answer:
        return await self._run(_answer, asked)

    async def close(self) -> None:
        """Let the child finish what it was given, then stop it."""
        if self._stop_when_idle is not None:
            self._stop_when_idle.cancel()
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown)

    async def _run(self, work: Callable[[Given], Result], argument: Given) -> Result:
        """``work`` in the child; a child that dies (killed, out of memory) is replaced and the
        work given again once: answers and training may run twice without harm."""
        if self._stop_when_idle is not None:
            self._stop_when_idle.cancel()
        self._working += 1
        try:
            try:
                return await self._in_child(work, argument)
            except BrokenProcessPool:
                return await self._in_child(work, argument)
        finally:
            self._working -= 1
            if not self._working and self._pool is not None:
                self._stop_when_idle = asyncio.get_running_loop().call_later(
                    self._idle_seconds, self._stop
                )

    async def _in_child(self, work: Callable[[Given], Result], argument: Given) -> Result:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
                initargs=(self._recipe,),
            )
            log.info("forecast_process_started")
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, work, argument)
        except BrokenProcessPool:
            log.error("forecast_process_lost")
            if self._pool is pool:
                self._pool = None
            raise

    def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
            log.info("forecast_process_stopped", idle_seconds=self._idle_seconds)


# -- in the child ------------------------------------------------------------------------------

_child: tuple[asyncio.AbstractEventLoop, Forecasting] | None = None
"""In the child: its event loop and its heavy half, made by ``_start_child``."""


def _start_child(recipe: Recipe) -> None:
    global _child
    from actions.forecasts.answers import Forecaster
    from actions.forecasts.registry import Registry
    from bot.core.observability import configure_logging
    from bot.stores.database import Database

    # Ctrl-C reaches the whole process group: the server stops its child, in its own time.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(recipe.log_format, recipe.log_level)
    loop, database = asyncio.new_event_loop(), Database(recipe.database_url)
    _child = (loop, Forecaster(database, Registry(recipe.models_dir), recipe.demo_property))
    # A child leaves through os._exit (no atexit): its connections are closed on the way out.
    Finalize(None, lambda: loop.run_until_complete(database.close()), exitpriority=10)


def _started() -> tuple[asyncio.AbstractEventLoop, Forecasting]:
    if _child is None:
        raise RuntimeError("the forecast process was not started")
    return _child


def _answer(asked: Asked) -> Answer:
    loop, heavy_half = _started()
    return loop.run_until_complete(heavy_half.answer(asked))


def _train_missing(today: date) -> None:
    loop, heavy_half = _started()
    loop.run_until_complete(heavy_half.train_missing(today))
