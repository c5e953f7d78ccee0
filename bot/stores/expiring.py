"""The map every in-process store keeps its data in: entries that expire, within a bound."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from bot.stores.base import Clock

V = TypeVar("V")


def _one(_: object) -> int:
    return 1


class ExpiringMap(Generic[V]):
    """Values under keys, each until ``ttl_seconds`` after it was last put. Beyond ``max_size``
    (entries, or what ``size_of`` counts: bytes of a picture) the least recently put go first.

    Entries stay in the order they were put, and every put drops the expired ones at the front,
    so memory holds little more than the live entries without a sweep over the whole map. That
    is exact when a map's entries share one TTL, as most stores' do; an expired entry behind
    one that lives longer is dropped when it is read, or crowded out.
    """

    def __init__(
        self, clock: Clock, max_size: int | None = None, size_of: Callable[[V], int] = _one
    ) -> None:
        self._clock = clock
        self._max_size = max_size
        self._size_of = size_of
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self._size = 0

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            self._remove(key)
            return None
        return entry[0]

    def put(self, key: str, value: V, ttl_seconds: float) -> None:
        if key in self._entries:
            self._remove(key)  # a new put goes last, with a new expiry
        self._entries[key] = (value, self._clock() + ttl_seconds)
        self._size += self._size_of(value)
        self._drop_expired_and_oldest()

    def pop(self, key: str) -> V | None:
        """The value while it lives; the entry is gone either way."""
        value = self.get(key)
        if value is not None:
            self._remove(key)
        return value

    def _remove(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self._size -= self._size_of(value)

    def _drop_expired_and_oldest(self) -> None:
        now = self._clock()
        while self._entries:
            key, (_, expires_at) = next(iter(self._entries.items()))
            over = self._max_size is not None and self._size > self._max_size
            if expires_at > now and not over:
                return
            self._remove(key)
