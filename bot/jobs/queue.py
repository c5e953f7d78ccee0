"""Work outside a guest's turn on one queue: taskiq on a Redis stream, or in the process.

With Redis, a job is an entry in a Redis stream read by a consumer group: acknowledged only
after it ran, so a job whose worker died (SIGKILL, a lost machine) stays pending and is claimed
by a live worker once it has been idle ``reclaim_seconds``. Any process enqueues; the processes
that ``work`` run them (``rsv360 worker``, and ``rsv360 serve`` unless told otherwise). On the
embedded default (no Redis) taskiq's in-memory broker runs each job in the process at once.

Periodic jobs (``Job.every_seconds``) are enqueued by one process at a time: the one holding the
schedule's lease in Redis, renewed every second, taken over by another worker when it lapses.
A job that touches money or inventory must be idempotent anyway: a re-delivered job runs twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask
from taskiq.api import run_receiver_task

from bot.core.loops import LoopFailures
from bot.stores import keys

log = structlog.get_logger("rsv360.jobs")

SCHEDULE_LEASE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Callable[..., Awaitable[object]]
    every_seconds: float | None = None
    """Enqueued that often (by the process holding the schedule); None: only when asked."""


class JobQueue:
    def __init__(
        self,
        broker: AsyncBroker,
        loops: LoopFailures,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._broker = broker
        self._loops = loops
        self._redis = redis
        self._clock = clock
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, AsyncTaskiqDecoratedTask[Any, Any]] = {}

    @property
    def durable(self) -> bool:
        return self._redis is not None

    def add(self, job: Job) -> None:
        if job.name in self._jobs:
            raise ValueError(f"two jobs named {job.name!r}")
        self._jobs[job.name] = job
        self._tasks[job.name] = self._broker.register_task(self._contained(job), job.name)

    async def enqueue(self, name: str, **arguments: Any) -> None:
        await self._tasks[name].kiq(**arguments)

    async def start(self) -> None:
        """Connect (every process that enqueues)."""
        await self._broker.startup()

    async def close(self) -> None:
        await self._broker.shutdown()

    async def work(self, max_at_once: int = 50) -> None:
        """Run jobs and enqueue the periodic ones, until cancelled."""
        schedule = asyncio.create_task(self._schedule())
        try:
            if self.durable:
                await run_receiver_task(self._broker, max_async_tasks=max_at_once)
            else:
                await asyncio.Event().wait()  # in-memory jobs run where they are enqueued
        finally:
            schedule.cancel()
            await asyncio.gather(schedule, return_exceptions=True)

    def _contained(self, job: Job) -> Callable[..., Awaitable[None]]:
        async def run(**arguments: Any) -> None:
            with self._loops.isolated(f"job:{job.name}"):
                await job.run(**arguments)

        run.__name__ = run.__qualname__ = job.name
        return run

    async def _schedule(self) -> None:
        periodic = [job for job in self._jobs.values() if job.every_seconds]
        due = {job.name: self._clock() for job in periodic}
        lease = (
            self._redis.lock(keys.JOB_SCHEDULE_LEASE, timeout=SCHEDULE_LEASE_SECONDS)
            if self._redis is not None
            else None
        )
        leading = lease is None
        while True:
            if lease is not None:
                leading = await _renewed(lease, leading)
            if leading:
                now = self._clock()
                for job in periodic:
                    if due[job.name] <= now:
                        assert job.every_seconds is not None
                        due[job.name] = now + job.every_seconds
                        with self._loops.isolated("job_schedule"):
                            await self.enqueue(job.name)
            await asyncio.sleep(1.0)


async def _renewed(lease: Any, leading: bool) -> bool:
    """Whether this process (still) holds the schedule's lease after trying to keep or take it."""
    try:
        if leading:
            await lease.reacquire()
            return True
        return bool(await lease.acquire(blocking=False))
    except LockError:
        log.warning("job_schedule_lost")
        return False
    except (RedisError, OSError):
        log.exception("job_schedule_unavailable")
        return False
