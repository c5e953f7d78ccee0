"""The stores' contracts, each run against the in-process and the Redis backend, on a fake clock.

Redis keeps its own time, so "time passes" there by shortening every key's TTL by as much
(``Backend.pass_time``): no test sleeps, and each one checks the TTL Redis was given.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis, RedisCluster

from actions.forecasts.cache import AnswerCache, forecast_kind
from actions.handoff.store import TAKEN, TTL_SECONDS, Handoff, HandoffStore
from bot.steps.dedupe import DedupeStore
from bot.stores import keys
from bot.stores.base import Media
from bot.stores.bundle import RedisClients, Stores, build_stores
from bot.stores.cache import Cache, CacheMetrics
from bot.stores.expiring import ExpiringMap
from bot.stores.memory import MemoryListStore, MemoryMediaStore, MemoryValueStore
from bot.stores.redis import RedisExposureLog
from tests.support.clock import NOW, Ticks
from tests.support.redis_servers import RedisClusterServers
from tests.support.services import REDIS_URL


@dataclass
class Backend:
    """The stores of one backend under test, and time passing for them."""

    stores: Stores
    clock: Ticks
    redis: Redis | RedisCluster | None

    async def pass_time(self, seconds: float) -> None:
        self.clock.now += seconds
        if self.redis is None:
            return
        elapsed_ms = int(seconds * 1000)
        async for key in self.redis.scan_iter():
            left_ms = await self.redis.pttl(key)
            if 0 < left_ms <= elapsed_ms:
                await self.redis.delete(key)
            elif left_ms > elapsed_ms:
                await self.redis.pexpire(key, left_ms - elapsed_ms)

    async def assert_ttl(self, key: str, seconds: int) -> None:
        """Redis was told to keep the key ``seconds``; in memory ``pass_time`` alone tells."""
        if self.redis is not None:
            assert seconds - 1 <= await self.redis.ttl(key) <= seconds


@pytest.fixture(params=["memory", "redis", "cluster"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """In process, on Redis (the ``redis`` fixture, emptied and closed by it, only for that run:
    one client serves the stores and the order's waits, which these tests never block), and on
    a 6-node Redis Cluster of the suite's own (``tests/support/redis_servers.py``)."""
    clock = Ticks()
    if request.param == "memory":
        return Backend(build_stores(None, 5.0, 5.0, clock), clock, None)
    if request.param == "redis":
        redis: Redis = request.getfixturevalue("redis")
        clients = RedisClients(REDIS_URL, redis, redis)
        return Backend(build_stores(clients, 5.0, 5.0, clock), clock, redis)
    servers: RedisClusterServers = request.getfixturevalue("redis_cluster")
    cluster: RedisCluster = request.getfixturevalue("redis_cluster_client")
    clients = RedisClients(servers.url, cluster, cluster)
    return Backend(build_stores(clients, 5.0, 5.0, clock), clock, cluster)


# -- ValueStore ---------------------------------------------------------------------------------


async def test_a_value_is_read_back_and_overwritten(backend: Backend) -> None:
    values = backend.stores.sessions
    assert await values.get("k") is None
    await values.put("k", "olá {1}", 60)
    assert await values.get("k") == "olá {1}"
    await values.put("k", "again", 60)
    assert await values.get("k") == "again"


async def test_a_value_lives_its_ttl_and_no_longer(backend: Backend) -> None:
    values = backend.stores.sessions
    await values.put("k", "v", 60)
    await backend.assert_ttl("k", 60)
    await backend.pass_time(59)
    assert await values.get("k") == "v"
    await backend.pass_time(2)
    assert await values.get("k") is None


async def test_a_new_put_starts_a_new_ttl(backend: Backend) -> None:
    values = backend.stores.sessions
    await values.put("k", "v", 60)
    await backend.pass_time(40)
    await values.put("k", "w", 60)
    await backend.pass_time(40)
    assert await values.get("k") == "w"


async def test_put_new_writes_only_an_absent_or_expired_key(backend: Backend) -> None:
    values = backend.stores.dedupe
    assert await values.put_new("k", "1", 60)
    assert not await values.put_new("k", "2", 60)
    assert await values.get("k") == "1"
    await backend.pass_time(61)
    assert await values.put_new("k", "3", 60)


async def test_of_concurrent_put_news_one_wins(backend: Backend) -> None:
    values = backend.stores.dedupe
    wins = await asyncio.gather(*(values.put_new("k", str(n), 60) for n in range(20)))
    assert wins.count(True) == 1


TOGETHER = ["{t}:a", "{t}:b", "{t}:c"]
"""Keys written together share a hash tag: a cluster keeps them in one slot."""


async def test_put_all_writes_every_value_with_the_ttl(backend: Backend) -> None:
    values = backend.stores.handoffs
    await values.put_all(dict(zip(TOGETHER, "12", strict=False)), 60)
    assert [await values.get(key) for key in TOGETHER[:2]] == ["1", "2"]
    await backend.assert_ttl(TOGETHER[1], 60)
    await backend.pass_time(61)
    assert [await values.get(key) for key in TOGETHER[:2]] == [None, None]


async def test_get_all_reads_keys_of_any_slot_in_their_order(backend: Backend) -> None:
    values = backend.stores.handoffs
    await values.put_all({TOGETHER[0]: "1", TOGETHER[2]: "3"}, 60)
    apart = [f"{{guest-{index}}}:link" for index in range(8)]  # spread over the cluster's nodes
    for index, key in enumerate(apart[::2]):
        await values.put(key, f"apart-{index}", 60)
    assert await values.get_all([TOGETHER[2], TOGETHER[1], TOGETHER[0]]) == ["3", None, "1"]
    assert await values.get_all([*apart, TOGETHER[0]]) == [
        "apart-0",
        None,
        "apart-1",
        None,
        "apart-2",
        None,
        "apart-3",
        None,
        "1",
    ]
    assert await values.get_all([]) == []
    await backend.pass_time(61)
    assert await values.get_all(TOGETHER) == [None, None, None]


async def test_delete_removes_the_keys_it_names_in_any_slot(backend: Backend) -> None:
    values = backend.stores.unreachable
    await values.put_all(dict(zip(TOGETHER, "123", strict=True)), 60)
    await values.put("elsewhere", "4", 60)
    await values.delete(TOGETHER[0], "elsewhere", TOGETHER[1], "never-written")
    assert [await values.get(key) for key in TOGETHER] == [None, None, "3"]
    assert await values.get("elsewhere") is None


# -- ListStore ----------------------------------------------------------------------------------


async def test_a_list_keeps_the_newest_values_and_is_taken_once(backend: Backend) -> None:
    lists = backend.stores.pending_replies
    await lists.push("k", ["1", "2", "3"], 4, 60)
    await lists.push("k", ["4", "5"], 4, 60)
    assert await lists.take("k") == ["2", "3", "4", "5"]
    assert await lists.take("k") == []


async def test_pushing_nothing_leaves_no_list(backend: Backend) -> None:
    lists = backend.stores.pending_replies
    await lists.push("k", [], 4, 60)
    assert await lists.take("k") == []
    assert backend.redis is None or not await backend.redis.exists("k")


async def test_a_list_lives_its_ttl_from_the_last_push(backend: Backend) -> None:
    lists = backend.stores.pending_replies
    await lists.push("k", ["1"], 4, 60)
    await backend.pass_time(40)
    await lists.push("k", ["2"], 4, 60)
    await backend.assert_ttl("k", 60)
    await backend.pass_time(40)
    assert await lists.take("k") == ["1", "2"]
    await lists.push("k", ["3"], 4, 60)
    await backend.pass_time(61)
    assert await lists.take("k") == []


# -- MediaStore ---------------------------------------------------------------------------------


async def test_a_picture_is_read_back_until_its_ttl(backend: Backend) -> None:
    media = backend.stores.media
    picture = Media(b"\x89PNG\r\n\x1a\n\x00\xff", "image/png")
    await media.put("k", picture, 60)
    await backend.assert_ttl("rsv:media:k", 60)
    assert await media.get("k") == picture
    assert await media.get("unknown") is None
    await backend.pass_time(61)
    assert await media.get("k") is None


# -- what owners keep in them ---------------------------------------------------------------------


async def test_an_update_id_is_first_seen_once_per_scope_and_ttl(backend: Backend) -> None:
    dedupe = DedupeStore(backend.stores.dedupe)
    assert await dedupe.first_seen("telegram:1", "1", 600)
    assert not await dedupe.first_seen("telegram:1", "1", 600)
    assert await dedupe.first_seen("slack:1", "1", 600)
    assert await dedupe.first_seen("telegram:1", "2", 600)
    await backend.assert_ttl("rsv:dedupe:{telegram:1}:1", 600)
    await backend.pass_time(601)
    assert await dedupe.first_seen("telegram:1", "1", 600)


async def test_a_handoff_is_found_by_ticket_guest_and_staff_until_closed(
    backend: Backend,
) -> None:
    handoffs = HandoffStore(backend.stores.handoffs)
    requested = Handoff("T1", "web:guest", "pt_BR")
    await handoffs.save(requested)
    assert await handoffs.of_guest("web:guest") == requested
    assert await handoffs.of_staff("slack:team:u1") is None
    taken = Handoff("T1", "web:guest", "pt_BR", TAKEN, "slack:team:u1")
    await handoffs.save(taken)
    assert await handoffs.by_ticket("T1") == taken
    assert await handoffs.of_staff("slack:team:u1") == taken
    for key in (
        "rsv:handoff:{handoff}:ticket:T1",
        "rsv:handoff:{web:guest}:guest",
        "rsv:handoff:{handoff}:staff:slack:team:u1",
    ):
        await backend.assert_ttl(key, TTL_SECONDS)
    await handoffs.close(taken)
    assert await handoffs.by_ticket("T1") is None
    assert await handoffs.of_guest("web:guest") is None
    assert await handoffs.of_staff("slack:team:u1") is None


async def test_a_forgotten_handoff_ends_by_itself(backend: Backend) -> None:
    handoffs = HandoffStore(backend.stores.handoffs)
    await handoffs.save(Handoff("T2", "web:guest", "en"))
    await backend.pass_time(TTL_SECONDS + 1)
    assert await handoffs.of_guest("web:guest") is None


async def test_a_forecast_answer_is_cached_for_its_kinds_ttl(backend: Backend) -> None:
    cache = Cache(
        backend.stores.cache,
        backend.stores.order,
        backend.stores.cache_counts,
        CacheMetrics(CollectorRegistry()),
    )
    answers = AnswerCache(cache, forecast_kind(900))
    computed: list[int] = []

    async def compute() -> dict[str, str]:
        computed.append(1)
        return {"text": f"answer {len(computed)}"}

    assert await answers.answer("p:v1:2027-01:en", compute) == {"text": "answer 1"}
    assert await answers.answer("p:v1:2027-01:en", compute) == {"text": "answer 1"}
    await backend.assert_ttl("rsv:cache:forecast:p:v1:2027-01:en", 900)
    await backend.pass_time(901)
    assert await answers.answer("p:v1:2027-01:en", compute) == {"text": "answer 2"}
    counts = await cache.counts("forecast")
    assert (counts["hit"], counts["miss"], counts["computed"]) == (1, 2, 2)


# -- the in-process bounds ----------------------------------------------------------------------


def test_beyond_its_bound_the_map_forgets_the_least_recently_put() -> None:
    entries: ExpiringMap[str] = ExpiringMap(Ticks(), max_size=2)
    entries.put("a", "1", 60)
    entries.put("b", "2", 60)
    entries.put("a", "1 again", 60)
    entries.put("c", "3", 60)
    assert [entries.get(key) for key in "abc"] == ["1 again", None, "3"]


def test_a_sized_map_holds_up_to_its_size_in_all() -> None:
    entries: ExpiringMap[bytes] = ExpiringMap(Ticks(), max_size=10, size_of=len)
    for key in "abc":
        entries.put(key, b"x" * 4, 60)
    assert [entries.get(key) for key in "abc"] == [None, b"xxxx", b"xxxx"]
    entries.put("big", b"x" * 11, 60)
    assert [entries.get(key) for key in ("b", "c", "big")] == [None, None, None]


def test_an_entry_is_gone_once_its_ttl_is_over_and_pop_takes_it() -> None:
    clock = Ticks()
    entries: ExpiringMap[str] = ExpiringMap(clock)
    entries.put("short", "1", 10)
    entries.put("long", "2", 100)
    clock.now += 10
    assert entries.get("short") is None
    assert entries.pop("long") == "2"
    assert entries.get("long") is None


async def test_the_in_process_stores_keep_their_bounds() -> None:
    clock = Ticks()
    values = MemoryValueStore(clock, max_entries=2)
    for key in "abc":
        await values.put(key, key, 60)
    assert [await values.get(key) for key in "abc"] == [None, "b", "c"]
    lists = MemoryListStore(clock, max_lists=1)
    await lists.push("a", ["1"], 4, 60)
    await lists.push("b", ["2"], 4, 60)
    assert (await lists.take("a"), await lists.take("b")) == ([], ["2"])
    media = MemoryMediaStore(clock, max_bytes=8)
    for key in "ab":
        await media.put(key, Media(b"x" * 5, "image/png"), 60)
    assert (await media.get("a"), await media.get("b")) == (None, Media(b"x" * 5, "image/png"))


async def test_one_function_chooses_the_backend_of_every_store(redis: Redis) -> None:
    memory = build_stores(None, 5.0, 5.0)
    shared = build_stores(RedisClients(REDIS_URL, redis, redis), 5.0, 5.0)
    for stores, backend in ((memory, "Memory"), (shared, "Redis")):
        members = [getattr(stores, name) for name in Stores.__dataclass_fields__]
        chosen = [type(store).__name__ for store in members if store is not None]
        assert all(name.startswith(backend) for name in chosen), chosen
    assert memory.wakeups is None
    assert shared.wakeups is not None


async def test_exposures_wait_for_their_moment_and_are_written_together(redis: Redis) -> None:
    """One pipeline for the exposures of a moment: written when they are counted, when the
    moment ends or when the process closes (here a moment of an hour: nothing else writes)."""
    log = RedisExposureLog(redis, batch_seconds=3600)
    for subject, variant in (("a", "warm"), ("b", "warm"), ("c", "control")):
        await log.record("tone", variant, subject, NOW)
    assert await redis.xlen(keys.EXPOSURES) == 0
    assert await log.counts("tone") == Counter(warm=2, control=1)
    assert await redis.xlen(keys.EXPOSURES) == 3
    await log.record("tone", "warm", "d", NOW)
    await log.close()
    assert await redis.xlen(keys.EXPOSURES) == 4
    assert await redis.hgetall(keys.exposure_counts("tone")) == {b"warm": b"3", b"control": b"1"}
