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
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from bot.core.loops import LoopFailures, cancel_and_wait
from bot.jobs.job import Job
from bot.stores import keys

log = structlog.get_logger("rsv360.jobs")

SCHEDULE_LEASE_SECONDS = 10.0


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
        self._stopping = asyncio.Event()
        self._in_process = 0
        """In-process jobs enqueued and not yet finished (the embedded queue only)."""
        self._idle = asyncio.Event()
        self._idle.set()
        self._first_round = asyncio.Event()
        """Set once ``work``'s schedule has enqueued the periodic jobs due at start."""
        self._working = False

    @property
    def durable(self) -> bool:
        return self._redis is not None

    def add(self, job: Job) -> None:
        if job.name in self._jobs:
            raise ValueError(f"two jobs named {job.name!r}")
        self._jobs[job.name] = job
        self._tasks[job.name] = self._broker.register_task(self._contained(job), job.name)

    async def enqueue(self, name: str, **arguments: Any) -> None:
        if not self.durable:
            self._in_process += 1
            self._idle.clear()
        try:
            await self._tasks[name].kiq(**arguments)
        except BaseException:
            self._finished()
            raise

    async def settled(self) -> None:
        """Wait until the in-process jobs enqueued so far (and those they enqueue) have run,
        the periodic ones due when ``work`` began included; with Redis the workers run them,
        and there is nothing to wait for here."""
        if self._working and not self.durable:
            await self._first_round.wait()
        await self._idle.wait()

    def _finished(self) -> None:
        if not self.durable:
            self._in_process -= 1
            if self._in_process == 0:
                self._idle.set()

    async def start(self) -> None:
        """Connect (every process that enqueues)."""
        await self._broker.startup()

    async def close(self) -> None:
        await self._broker.shutdown()

    async def work(self, max_at_once: int = 50, finish_seconds: float = 10.0) -> None:
        """Run jobs and enqueue the periodic ones until ``stop`` (or cancelled): then the jobs
        running get ``finish_seconds`` to end and be acknowledged; jobs not started stay in
        the stream for another worker."""
        self._working = True
        schedule = asyncio.create_task(self._schedule())
        try:
            if self.durable:
                await self._receive(max_at_once, finish_seconds)
            else:
                await self._stopping.wait()  # in-memory jobs run where they are enqueued
        finally:
            self._working = False
            await cancel_and_wait(schedule)

    def stop(self) -> None:
        """Ask ``work`` to finish the jobs it runs and return."""
        self._stopping.set()

    async def _receive(self, max_at_once: int, finish_seconds: float) -> None:
        """taskiq's receiver with a stop signal, as ``taskiq worker`` runs it: it stops
        fetching, then waits for the jobs running. (Cancelling it instead orphans them, to
        finish and acknowledge on a closed connection after the queue shut down.)"""
        while not self._stopping.is_set():
            receiver = Receiver(
                self._broker,
                run_startup=False,
                max_async_tasks=max_at_once,
                wait_tasks_timeout=finish_seconds,
            )
            listening = asyncio.create_task(receiver.listen(self._stopping))
            stopping = asyncio.create_task(self._stopping.wait())
            try:
                await asyncio.wait({listening, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                if not listening.done():
                    self._stopping.set()
                    await self._stopped(listening, finish_seconds)
            if not listening.done() or listening.cancelled():
                continue
            error = listening.exception()
            if error is not None and not self._stopping.is_set():
                log.error("job_queue_unavailable", error=type(error).__name__)
                await asyncio.sleep(1.0)  # Redis away: listen again shortly

    async def _stopped(self, listening: asyncio.Task[None], finish_seconds: float) -> None:
        """Wait for the receiver to end after its running jobs, at most ``finish_seconds``
        and a little. Its stream read can swallow the cancellation meant to end it (see
        ``cancel_and_wait``) and read on, and the receiver waits for that read before it
        waits for the jobs: closing the broker's connections ends the read, and the jobs
        acknowledge on fresh ones (an acknowledgement lost in that moment means one more run,
        which every job tolerates)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + finish_seconds + 1.0
        while not listening.done() and loop.time() < deadline:
            await asyncio.wait({listening}, timeout=1.0)
            if not listening.done() and isinstance(self._broker, RedisStreamBroker):
                await self._broker.connection_pool.disconnect()
        if not listening.done():
            log.warning("job_queue_stop_overdue")
            listening.cancel()
            await asyncio.wait({listening}, timeout=1.0)

    def _contained(self, job: Job) -> Callable[..., Awaitable[None]]:
        async def run(**arguments: Any) -> None:
            try:
                with self._loops.isolated(f"job:{job.name}"):
                    await job.run(**arguments)
            finally:
                self._finished()

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
        while not self._stopping.is_set():
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
            self._first_round.set()
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
