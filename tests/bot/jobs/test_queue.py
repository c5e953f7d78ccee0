"""The job queue on a real Redis stream, with several "processes" (queues of their own)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from bot.core.observability import Metrics
from bot.jobs.job import Job
from bot.jobs.queue import JobQueue
from bot.root.jobs import CONSUMER_GROUP, job_queue
from bot.root.settings import Settings
from bot.stores import keys
from tests.support.clock import Ticks
from tests.support.services import REDIS_URL
from tests.support.waiting import until


@asynccontextmanager
async def process(
    settings: Settings, jobs: list[Job], work: bool, clock: Callable[[], float] | None = None
) -> AsyncIterator[tuple[JobQueue, Metrics]]:
    """One process's queue: started, working when asked, closed after."""
    metrics = Metrics(CollectorRegistry())
    queue, redis = job_queue(settings, metrics.loops)
    if clock is not None:
        queue = JobQueue(queue._broker, metrics.loops, redis, clock)
    for job in jobs:
        queue.add(job)
    await queue.start()
    working = asyncio.create_task(queue.work()) if work else None
    try:
        yield queue, metrics
    finally:
        if working is not None:
            queue.stop()
            await working
        await queue.close()
        if redis is not None:
            await redis.aclose()


async def test_each_job_runs_once_whichever_worker_takes_it(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(redis_url=REDIS_URL)
    ran: list[tuple[str, int]] = []

    def recorder(worker: str) -> Job:
        async def record(number: int) -> None:
            ran.append((worker, number))

        return Job("record", record)

    async with (
        process(settings, [recorder("a")], work=True),
        process(settings, [recorder("b")], work=True),
        process(settings, [recorder("producer")], work=False) as (producer, _),
    ):
        for number in range(40):
            await producer.enqueue("record", number=number)
        await until(lambda: len(ran) >= 40)
        await asyncio.sleep(1.5)  # a second run of any of them would arrive by now
    assert sorted(number for _, number in ran) == list(range(40))
    assert {worker for worker, _ in ran} <= {"a", "b"}, "the producer does not work"


async def test_periodic_jobs_are_enqueued_by_one_process_at_a_time(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(redis_url=REDIS_URL)
    clock = Ticks()
    runs: list[int] = []

    async def tick() -> None:
        runs.append(1)

    job = Job("tick", tick, every_seconds=60)
    async with (
        process(settings, [job], work=True, clock=clock),
        process(settings, [job], work=True, clock=clock),
    ):
        await until(lambda: len(runs) >= 1)
        clock.now += 60
        await until(lambda: len(runs) >= 2)
        await asyncio.sleep(2.5)  # both schedules have looked at the clock again by now
        assert len(runs) == 2, "one run per period, however many processes work"


async def test_a_failing_job_is_counted_and_the_worker_goes_on(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(redis_url=REDIS_URL)
    done: list[Any] = []

    async def flaky(number: int) -> None:
        if number == 1:
            raise RuntimeError("this one fails")
        done.append(number)

    async with process(settings, [Job("flaky", flaky)], work=True) as (queue, metrics):
        for number in range(3):
            await queue.enqueue("flaky", number=number)
        await until(lambda: len(done) == 2)
        failures = metrics.registry.get_sample_value(
            "rsv_loop_item_failures_total", {"loop": "job:flaky"}
        )
    assert sorted(done) == [0, 2]
    assert failures == 1


async def test_without_redis_jobs_run_in_the_process(
    make_settings: Callable[..., Settings],
) -> None:
    done: list[int] = []

    async def record(number: int) -> None:
        done.append(number)

    async with process(make_settings(), [Job("record", record)], work=True) as (queue, _):
        assert not queue.durable
        await queue.enqueue("record", number=7)
        await until(lambda: done == [7])


async def test_settled_in_the_process_includes_the_periodic_round_due_at_start(
    make_settings: Callable[..., Settings],
) -> None:
    """A test (or a shutdown) that waits for the queue to settle is not raced afterwards by
    the upkeep's first round, however late the schedule got to it."""
    ran = asyncio.Event()

    async def upkeep() -> None:
        await asyncio.sleep(0.05)  # a round slower than the test's next step
        ran.set()

    periodic = Job("upkeep", upkeep, every_seconds=3600.0)
    async with process(make_settings(), [periodic], work=True) as (queue, _):
        await asyncio.sleep(0)  # ``work`` has begun, as an app's start-up leaves it
        await queue.settled()
        assert ran.is_set()


async def test_a_worker_told_to_stop_lets_its_running_job_finish_and_acknowledges_it(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(redis_url=REDIS_URL)
    started, gate, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def checkout() -> None:
        started.set()
        await gate.wait()
        finished.set()

    metrics = Metrics(CollectorRegistry())
    queue, jobs_redis = job_queue(settings, metrics.loops)
    assert jobs_redis is not None
    queue.add(Job("checkout", checkout))
    await queue.start()
    working = asyncio.create_task(queue.work(finish_seconds=30))
    await queue.enqueue("checkout")
    await asyncio.wait_for(started.wait(), 10)
    queue.stop()
    await asyncio.sleep(0.5)
    assert not working.done(), "the worker waits for the job it runs"
    gate.set()
    await asyncio.wait_for(working, 10)
    assert finished.is_set()
    pending = await redis.xpending(keys.JOB_STREAM, CONSUMER_GROUP)
    assert pending["pending"] == 0, "its entry was acknowledged before the worker stopped"
    await queue.close()
    await jobs_redis.aclose()
