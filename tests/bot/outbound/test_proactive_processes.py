"""A message the bot starts in one process reaches a widget socket open in another (Redis
pub/sub wakes the process that holds the socket; the replies travel in the shared queue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.types import Address, Outcome
from bot.outbound.proactive import PendingReplies
from bot.root.app import build_runtime, create_app
from bot.root.settings import Settings
from tests.support.services import REDIS_URL
from tests.support.widget_socket import open_chat, receive


async def test_a_notify_in_process_a_reaches_a_socket_open_in_process_b(
    aiohttp_client: Any, make_settings: Callable[..., Settings], redis: Any
) -> None:
    settings = make_settings(redis_url=REDIS_URL)
    process_a = build_runtime(settings)
    process_b = build_runtime(settings)
    await aiohttp_client(create_app(settings, process_a))
    client_b = await aiohttp_client(create_app(settings, process_b))
    chat = await open_chat(client_b)

    await process_a.notifier.notify(
        Address("web", chat.conversation_id), "en", [Outcome("smalltalk/thanks")]
    )
    frame = await receive(chat.ws)
    assert frame["type"] == "message"
    assert frame["text"].startswith("You're welcome")
    pending = PendingReplies(process_a.stores.pending_replies)
    assert await pending.take(Address("web", chat.conversation_id)) == []


async def test_a_notify_while_no_process_holds_the_conversation_waits_for_its_hello(
    aiohttp_client: Any, make_settings: Callable[..., Settings], redis: Any
) -> None:
    settings = make_settings(redis_url=REDIS_URL)
    process_a = build_runtime(settings)
    client_a = await aiohttp_client(create_app(settings, process_a))
    chat = await open_chat(client_a)
    await chat.ws.close()
    await process_a.notifier.notify(
        Address("web", chat.conversation_id), "en", [Outcome("smalltalk/thanks")]
    )
    process_b = build_runtime(settings)
    client_b = await aiohttp_client(create_app(settings, process_b))
    again = await open_chat(client_b, chat.token)
    frame = await receive(again.ws)
    assert frame["text"].startswith("You're welcome")
