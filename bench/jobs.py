"""The job queue's own cost: taskiq (what the bot uses) against arq, on the same Redis.

    .venv/bin/python bench/jobs.py --queue taskiq [--jobs 5000]
    /tmp/arq-venv/bin/python bench/jobs.py --queue arq [--jobs 5000]

arq 0.26 and later require redis-py < 6 while the bot needs redis-py 8 (async Redis Cluster
pub/sub), so arq runs from a virtualenv of its own:
``python3 -m venv /tmp/arq-venv && /tmp/arq-venv/bin/pip install arq tqdm``.

One process enqueues ``--jobs`` jobs that each append to a Redis list, then one worker (in the
same process, its own connections) runs them, 50 at once: the enqueue and run rates. Then, the
worker idle, 300 jobs one after the other: p50/p99 of enqueue-to-done. Prints and writes to
``bench/results/jobs-QUEUE.json``. Uses Redis database 15, emptied first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from tqdm import tqdm

URL = "redis://127.0.0.1:6379/15"
DONE = "bench:jobs:done"
LATEST = "bench:jobs:latest"
RESULTS = Path(__file__).resolve().parent / "results"


async def record(number: int) -> None:
    async with Redis.from_url(URL) as redis:
        await redis.rpush(DONE, number)
        await redis.rpush(LATEST, number)


async def run_taskiq(count: int) -> tuple[float, Any]:
    from taskiq.api import run_receiver_task
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(URL, queue_name="bench:taskiq", consumer_id="0")
    task = broker.register_task(record, "record")
    await broker.startup()
    started = time.perf_counter()
    for number in tqdm(range(count), desc="enqueue", unit="job"):
        await task.kiq(number=number)
    enqueued = time.perf_counter() - started
    worker = asyncio.create_task(run_receiver_task(broker, max_async_tasks=50))
    return enqueued, (worker, lambda number: task.kiq(number=number))


async def run_arq(count: int) -> tuple[float, Any]:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    async def arq_record(_: dict[str, Any], number: int) -> None:
        await record(number)

    settings = RedisSettings(database=15)
    pool = await create_pool(settings)
    started = time.perf_counter()
    for number in tqdm(range(count), desc="enqueue", unit="job"):
        await pool.enqueue_job("arq_record", number=number)
    enqueued = time.perf_counter() - started
    worker = Worker(
        [func(arq_record, name="arq_record")],
        redis_settings=settings,
        max_jobs=50,
        keep_result=0,
        handle_signals=False,
    )
    working = asyncio.create_task(worker.async_run())
    return enqueued, (working, lambda number: pool.enqueue_job("arq_record", number=number))


async def main(queue: str, count: int) -> dict[str, Any]:
    async with Redis.from_url(URL) as redis:
        await redis.flushdb()
        enqueued, (working, enqueue) = await (run_taskiq if queue == "taskiq" else run_arq)(count)
        started = time.perf_counter()
        with tqdm(total=count, desc="run", unit="job") as bar:
            done = 0
            while done < count:
                await asyncio.sleep(0.2)
                now = await redis.llen(DONE)
                bar.update(now - done)
                done = now
        ran = time.perf_counter() - started
        await redis.delete(LATEST)
        latencies = []
        for number in tqdm(range(count, count + 300), desc="one at a time", unit="job"):
            sent = time.perf_counter()
            await enqueue(number)
            await redis.blpop([LATEST], timeout=10)
            latencies.append(time.perf_counter() - sent)
        working.cancel()
        latencies.sort()
    return {
        "queue": queue,
        "jobs": count,
        "enqueue_per_second": round(count / enqueued),
        "run_per_second": round(count / ran),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", choices=["taskiq", "arq"], required=True)
    parser.add_argument("--jobs", type=int, default=5000)
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments.queue, arguments.jobs))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"jobs-{arguments.queue}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
