"""The job queue wired from settings, with every job the capabilities declare."""

from __future__ import annotations

from redis.asyncio import Redis
from taskiq import InMemoryBroker
from taskiq_redis import RedisStreamBroker

from bot.core.loops import LoopFailures
from bot.jobs.job import Job
from bot.jobs.queue import JobQueue
from bot.outbound.outbox import DurableOutbox
from bot.root.settings import Settings
from bot.stores import keys

CONSUMER_GROUP = "rsv360"


class JobsNeedOneNode(ValueError):
    """The stores run on a Redis Cluster and no single-node Redis is set for the job queue."""


def jobs_redis_url(settings: Settings) -> str | None:
    """The job queue's Redis: its own setting, else the stores' Redis when it is one node."""
    if settings.jobs.redis_url:
        return settings.jobs.redis_url
    url = settings.redis_url
    if url is not None and "+cluster" in url.partition("://")[0]:
        raise JobsNeedOneNode(
            "RSV_REDIS_URL is a Redis Cluster; set RSV_JOBS_REDIS_URL to a single-node Redis "
            "for the job queue (its stream and acknowledgements need one node)"
        )
    return url


def job_queue(settings: Settings, loops: LoopFailures) -> tuple[JobQueue, Redis | None]:
    """The durable queue on Redis when one is configured, else the in-process one."""
    url = jobs_redis_url(settings)
    if url is None:
        return JobQueue(InMemoryBroker(), loops), None
    broker = RedisStreamBroker(
        url,
        queue_name=keys.JOB_STREAM,
        consumer_group_name=CONSUMER_GROUP,
        consumer_id="0",  # a group created after the first enqueue still reads it
        idle_timeout=int(settings.jobs.reclaim_seconds * 1000),
        xread_block=1000,
        # without it, a worker killed during a reclaim would stop every reclaim for good
        unacknowledged_lock_timeout=10.0,
    )
    redis = Redis.from_url(url)
    return JobQueue(broker, loops, redis), redis


def delivery_job(outboxes: dict[str, DurableOutbox]) -> Job:
    """Drains one provider chat's durable outbox (``bot.outbound.outbox``)."""

    async def deliver(channel: str, destination: str) -> None:
        outbox = outboxes.get(channel)
        if outbox is None:
            raise LookupError(f"channel {channel!r} is not configured in this worker")
        await outbox.drain(destination)

    return Job("deliver", deliver)
