"""The durable outbox: each provider chat's messages wait in a Redis list until a job sends them.

``put`` appends to the chat's list and, when the list was empty, enqueues a ``deliver`` job for
the chat (``kick``); any process may do it. The job that takes the chat's lease drains it (the
lease is renewed while it works and lapses ``lease_seconds`` after its process died; a job that
finds it taken waits that long for it): it reads the head, sends it
through the channel's ``Courier`` at the chat's pace (the next slot is kept in Redis, so pacing
holds across processes and restarts), and removes it only once the provider has answered. A
worker killed mid-queue leaves the list as it was: its job is re-delivered by the job queue and
the rest goes out in order. The one message whose provider call was under way when the process
died may go out twice; providers offer no idempotency key for a chat message.

A job drains for at most ``slice_seconds`` and enqueues itself again when messages remain, so one
long queue does not hold a job worker. The holder looks at the list again after releasing the
lease and enqueues a job when messages remain, so a message put meanwhile is never stranded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from bot.core.loops import cancel_and_wait
from bot.core.types import Reply, reply_document, reply_from_document
from bot.outbound.delivery import Courier
from bot.stores import keys

log = structlog.get_logger("rsv360.delivery")

Kick = Callable[[str, str], Awaitable[None]]
"""Enqueues the job that drains one chat: ``kick(channel, destination)``."""


class DurableOutbox:
    def __init__(
        self,
        courier: Courier[Reply],
        redis: Redis,
        kick: Kick,
        clock: Callable[[], float] = time.time,
        slice_seconds: float = 5.0,
        lease_seconds: float = 15.0,
    ) -> None:
        self._courier = courier
        self._redis = redis
        self._kick = kick
        self._clock = clock
        self._slice_seconds = slice_seconds
        self._lease_seconds = lease_seconds
        self._overall_next_at = 0.0
        self._destinations: set[str] = set()

    @property
    def channel(self) -> str:
        return self._courier.channel

    async def put(self, destination: str, items: list[Reply]) -> bool:
        if not await self._courier.admits(destination, len(items)):
            return False
        self._destinations.add(destination)
        documents = [json.dumps(reply_document(item)) for item in items]
        length = await self._redis.rpush(keys.outbox(self._address(destination)), *documents)
        if length == len(documents):  # otherwise the job draining the chat will reach them
            await self._kick(self.channel, destination)
        return True

    async def send_now(self, destination: str, item: Reply) -> bool:
        return await self._courier.attempt(destination, item)

    async def reachable_again(self, destination: str) -> None:
        await self._courier.reachable_again(destination)

    async def mark_unreachable(self, destination: str) -> None:
        await self._courier.mark_unreachable(destination)

    async def close(self) -> None:
        """Nothing to flush: what is queued waits in Redis for the next job."""

    async def join(self) -> None:
        """Wait until no chat this process put messages for has any waiting or a job draining
        it, whichever process runs the jobs (tests and benchmarks settle on it)."""
        while True:
            busy = [
                destination
                for destination in self._destinations
                if await self.waiting(destination)
                or await self._redis.exists(keys.outbox_lease(self._address(destination)))
            ]
            if not busy:
                return
            await asyncio.sleep(0.02)

    async def waiting(self, destination: str) -> int:
        return int(await self._redis.llen(keys.outbox(self._address(destination))))

    async def drain(self, destination: str) -> bool:
        """Send the chat's messages for about ``slice_seconds``; True when some remain (a job
        for them is enqueued)."""
        address = self._address(destination)
        lease: Lock = self._redis.lock(
            keys.outbox_lease(address),
            timeout=self._lease_seconds,
            blocking_timeout=self._lease_seconds + 1,
        )
        if not await lease.acquire():  # its holder is alive and draining: it goes on after us
            await self._kick(self.channel, destination)
            return True
        keeping = asyncio.create_task(self._keep(lease))
        try:
            await self._drain_slice(destination)
        finally:
            await cancel_and_wait(keeping)
            try:
                await lease.release()
            except LockError:  # it lapsed while Redis was out of reach
                log.warning("outbox_lease_lost", channel=self.channel)
        remaining = await self.waiting(destination) > 0
        if remaining:
            await self._kick(self.channel, destination)
        return remaining

    async def _drain_slice(self, destination: str) -> None:
        address = self._address(destination)
        queue = keys.outbox(address)
        started = self._clock()
        while self._clock() - started < self._slice_seconds:
            document = await self._redis.lindex(queue, 0)
            if document is None:
                return
            await self._wait_turn(address)
            sent = False
            with self._courier.isolated():  # a document that does not read is dropped, counted
                sent = await self._courier.attempt(destination, _reply(document))
            await self._redis.set(
                keys.outbox_next(address),
                repr(self._clock() + self._courier.pace.per_destination_seconds),
                ex=3600,
            )
            await self._redis.lpop(queue)
            if not sent and await self._courier.is_unreachable(destination):
                self._courier.skipped(int(await self._redis.llen(queue)))
                await self._redis.delete(queue)
                return

    async def _keep(self, lease: Lock) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            await lease.reacquire()

    async def _wait_turn(self, address: str) -> None:
        now = self._clock()
        stored = await self._redis.get(keys.outbox_next(address))
        slot = max(now, float(stored) if stored else 0.0)
        overall = self._courier.pace.overall_per_second
        if overall:  # per process: each job worker keeps its own share of the provider's cap
            slot = max(slot, self._overall_next_at)
            self._overall_next_at = slot + 1 / overall
        if slot > now:
            await asyncio.sleep(slot - now)

    def _address(self, destination: str) -> str:
        return f"{self.channel}:{destination}"


def _reply(document: Any) -> Reply:
    return reply_from_document(json.loads(document))
