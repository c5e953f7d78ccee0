"""What the stores promise, whichever backend keeps the data.

Most stores are one of two generic primitives, used by their owners under their own keys
(``bot/stores/keys.py``): ``ValueStore`` (text under a key, with a TTL) and ``ListStore`` (a capped
list under a key, with a TTL). The rest are mechanisms of their own: pictures, the exposure
log, the conversation order and the cross-process wake-ups.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from bot.core.types import Address

Clock = Callable[[], float]
"""Seconds from any fixed point (``time.monotonic``); what the in-process stores expire by."""


class ValueStore(ABC):
    """Text values under keys, each kept ``ttl_seconds`` after it was last written."""

    @abstractmethod
    async def get(self, key: str) -> str | None:
        """The value, or None when it was never written, was deleted or has expired."""

    @abstractmethod
    async def put(self, key: str, value: str, ttl_seconds: int) -> None: ...

    @abstractmethod
    async def put_new(self, key: str, value: str, ttl_seconds: int) -> bool:
        """Write only when the key holds no value; True when this call wrote it (atomic)."""

    @abstractmethod
    async def put_all(self, values: Mapping[str, str], ttl_seconds: int) -> None:
        """Write every value at once: a reader sees all of them or none."""

    @abstractmethod
    async def get_all(self, keys: Sequence[str]) -> list[str | None]:
        """Each key's value (None where absent), in one round trip; on a cluster one per node
        that holds some of them (so not read at one instant, unlike keys sharing a hash tag)."""

    @abstractmethod
    async def delete(self, *keys: str) -> None: ...


class ListStore(ABC):
    """Lists of text values under keys, each kept ``ttl_seconds`` after its last push."""

    @abstractmethod
    async def push(self, key: str, values: Sequence[str], keep: int, ttl_seconds: int) -> None:
        """Append the values, keeping the newest ``keep``; pushing none changes nothing."""

    @abstractmethod
    async def take(self, key: str) -> list[str]:
        """Every value of the list, oldest first, and the list is gone (atomic)."""


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes
    content_type: str


class MediaStore(ABC):
    """Pictures under keys, each kept for its TTL."""

    @abstractmethod
    async def put(self, key: str, media: Media, ttl_seconds: int) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> Media | None: ...


class ExposureLog(ABC):
    """Which variant of an experiment each subject saw, counted per variant."""

    @abstractmethod
    async def record(self, experiment: str, variant: str, subject: str, at: datetime) -> None: ...

    @abstractmethod
    async def counts(self, experiment: str) -> Counter[str]:
        """Exposures per variant, those recorded until now included."""

    @abstractmethod
    async def close(self) -> None:
        """Write what was recorded and waits to be written."""


class CounterStore(ABC):
    """Named counts under keys, shared by every process (kept until deleted)."""

    @abstractmethod
    async def add(self, key: str, name: str, amount: int = 1) -> None: ...

    @abstractmethod
    async def read(self, key: str) -> Counter[str]: ...


class TurnTimeout(Exception):
    """The conversation stayed busy for longer than the bounded wait."""


class Redelivered(Exception):
    """The turn's update was seen before: a provider delivered it again."""


class OverLimit(Exception):
    """The turn's moving window was full (``Counted``): it takes one more in ``retry_after``
    seconds; ``first`` for the window's first refusal, so that a flood gets one answer."""

    def __init__(self, retry_after: float, first: bool) -> None:
        super().__init__(f"over the limit for {retry_after:.1f} s")
        self.retry_after = retry_after
        self.first = first


@dataclass(frozen=True, slots=True)
class Counted:
    """A moving window the turn counts into before it queues, under its key
    (``bot.stores.keys.message_window``): at most ``amount`` turns in any ``seconds``. Counted
    before the delivery is remembered, so a re-delivery counts too and a flood never queues."""

    key: str
    amount: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """A provider update's id under its key (``bot.stores.keys.dedupe``), remembered for
    ``ttl_seconds`` so that a re-delivery is refused instead of answered twice."""

    key: str
    ttl_seconds: int


class HeldTurn:
    """A conversation's turn, held; the value that the turn carries (its session), read as the
    turn began and written as it ends if ``keep`` was called; and the values of the keys read
    with it (``read``)."""

    def __init__(self, carried: str | None, read: Mapping[str, str | None]) -> None:
        self.carried = carried
        self.read = read
        self.kept: tuple[str | None, int] | None = None

    def keep(self, value: str | None, ttl_seconds: int) -> None:
        """Write ``value`` (None: delete it) under the carried key as the turn ends."""
        self.kept = (value, ttl_seconds)


class ConversationOrder(ABC):
    """One turn at a time per conversation, first come, first served."""

    @abstractmethod
    def turn(
        self,
        conversation_key: str,
        carrying: str | None = None,
        reading: Sequence[str] = (),
        delivery: Delivery | None = None,
        counted: Counted | None = None,
    ) -> AbstractAsyncContextManager[HeldTurn]:
        """Holds the conversation's turn while inside; raises ``TurnTimeout`` when the wait
        for it runs out, and, before joining the queue, ``OverLimit`` when ``counted`` is full
        and ``Redelivered`` when ``delivery`` was seen within its TTL. ``carrying`` is a key of
        the conversation (``bot.stores.keys``) whose value is read when the turn is taken and
        written when it is given back; ``reading`` are keys of the conversation read when the
        turn is taken. On Redis the count, the delivery, the turn and what it reads are one
        round trip (all share the conversation's hash tag), and the write and the release
        another."""


class Wakeups(ABC):
    """Tells every process that a conversation has replies waiting in the shared queue."""

    @abstractmethod
    async def publish(self, address: Address) -> None: ...

    @abstractmethod
    def listen(self, ready: asyncio.Event) -> AsyncIterator[Address]:
        """The woken conversations, as they come; ``ready`` is set once subscribed."""
