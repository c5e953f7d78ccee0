"""Dedupe and session stores: one suite for the in-process and the Redis implementation."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis

from bot import keys
from bot.dedupe import DedupeStore, MemoryDedupeStore, RedisDedupeStore
from bot.sessions import (
    SCHEMA_VERSION,
    FormState,
    MemorySessionStore,
    RedisSessionStore,
    Session,
    SessionStore,
    dump_session,
    load_session,
)


@pytest.fixture(params=["memory", "redis"])
def dedupe_store(request: pytest.FixtureRequest) -> DedupeStore:
    """In process, then on Redis (the ``redis`` fixture only for that run)."""
    if request.param == "memory":
        return MemoryDedupeStore()
    return RedisDedupeStore(request.getfixturevalue("redis"))


@pytest.fixture(params=["memory", "redis"])
def session_store(request: pytest.FixtureRequest) -> SessionStore:
    """In process, then on Redis (the ``redis`` fixture only for that run)."""
    if request.param == "memory":
        return MemorySessionStore()
    return RedisSessionStore(request.getfixturevalue("redis"))


async def test_an_update_id_is_first_seen_once(dedupe_store: DedupeStore) -> None:
    assert await dedupe_store.first_seen("telegram:1", "1", 600)
    assert not await dedupe_store.first_seen("telegram:1", "1", 600)
    assert await dedupe_store.first_seen("slack:1", "1", 600)
    assert await dedupe_store.first_seen("telegram:2", "1", 600)
    assert await dedupe_store.first_seen("telegram:1", "2", 600)


async def test_concurrent_deliveries_of_one_update_pass_once(dedupe_store: DedupeStore) -> None:
    firsts = await asyncio.gather(*(dedupe_store.first_seen("web", "x", 600) for _ in range(20)))
    assert firsts.count(True) == 1


async def test_an_update_id_is_forgotten_after_its_ttl(dedupe_store: DedupeStore) -> None:
    assert await dedupe_store.first_seen("web", "short", 1)
    await asyncio.sleep(1.1)
    assert await dedupe_store.first_seen("web", "short", 1)


async def test_redis_dedupe_keys_carry_the_ttl(redis: Redis) -> None:
    await RedisDedupeStore(redis).first_seen("web:c", "ttl", 600)
    assert 590 < await redis.ttl(keys.dedupe("web:c", "ttl")) <= 600


async def test_a_session_round_trips(session_store: SessionStore) -> None:
    session = Session(conversation_id="c1", locale="es", user_id="u1")
    session.form = FormState("contact", {"email": "a@b.co"}, asking="name")
    session.experiments["greeting_tone"] = "warm"
    session.remember("guest", "hola", "greet")
    await session_store.write("web:c1", dump_session(session, 16_384), 60)
    loaded = load_session(await session_store.read("web:c1"), "c1", "pt_BR")
    assert loaded == session


async def test_a_session_expires(session_store: SessionStore) -> None:
    await session_store.write("web:c2", dump_session(Session("c2", "en"), 16_384), 1)
    await asyncio.sleep(1.1)
    assert await session_store.read("web:c2") is None


def test_an_oversized_session_drops_its_oldest_history_first() -> None:
    session = Session(conversation_id="c", locale="pt_BR")
    for number in range(20):
        session.remember("guest", f"{number:02d} " + "x" * 400)
    raw = dump_session(session, 4096)
    assert len(raw.encode()) <= 4096
    kept = load_session(raw, "c", "pt_BR").history
    assert kept
    assert kept[-1]["text"].startswith("19 ")
    assert len(kept) < 20


def test_a_session_too_big_even_without_history_is_reset_but_keeps_its_locale() -> None:
    session = Session(conversation_id="c", locale="es", data={"blob": "y" * 10_000})
    loaded = load_session(dump_session(session, 2048), "c", "pt_BR")
    assert loaded.locale == "es"
    assert loaded.data == {}


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1, 2]", json.dumps({"v": SCHEMA_VERSION + 1, "locale": "en"}), '{"v": 1}'],
)
def test_an_unreadable_or_unknown_session_starts_fresh(raw: str) -> None:
    assert load_session(raw, "c", "pt_BR") == Session(conversation_id="c", locale="pt_BR")


def test_history_is_bounded() -> None:
    session = Session(conversation_id="c", locale="en")
    for number in range(100):
        session.remember("guest", str(number))
    assert len(session.history) == 20
    assert session.history[-1]["text"] == "99"


async def test_the_memory_store_sweeps_conversations_that_never_return() -> None:
    store = MemorySessionStore()
    await store.write("web:gone", "{}", 1)
    await asyncio.sleep(1.05)
    for number in range(MemorySessionStore.SWEEP_EVERY):
        await store.write(f"web:{number}", "{}", 60)
    assert "web:gone" not in store._documents
