"""Telegram updates in, replies out: the guests' main channel.

Webhook mode answers Telegram at once and handles the update in a background task (Telegram
sends again after 60 s without an answer); polling mode is for a laptop without a public URL.
Either way one aiogram ``Dispatcher`` turns messages and button presses into ``bot.Message``:
the Telegram user's ``language_code`` is the locale hint, the update id dedupes re-deliveries,
``/start <slug>`` (a ``t.me/<bot>?start=pousada-do-mar`` link) opens the booking of that
property.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import structlog
from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import CallbackQuery, Update
from aiogram.types import Message as TelegramMessage
from aiogram.utils.chat_action import ChatActionSender
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.credentials import same_secret
from bot.delivery import DeliveryQueue
from bot.engine import Engine
from bot.json_body import MalformedJson, json_object
from bot.observability import pseudonym
from bot.payloads import PayloadStore
from bot.render import Renderer
from bot.roles import RoleBook
from bot.types import Address, Message, Outcome, Reply
from bot.understanding import button_payload
from channels.telegram.outbound import TelegramSender, provider_errors

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]
DEEP_LINK = re.compile(r"^/start(?:@\w+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$")
COMMANDS = {"/help": button_payload("help"), "/start": button_payload("greet")}
UNKNOWN_BUTTON = "unknown"
TYPING_AFTER_SECONDS = 0.25
MAX_UPDATES_IN_FLIGHT = 128
"""Updates handled at once; beyond it the webhook answers only when one finishes, so Telegram
holds back (it keeps at most ``max_connections`` requests open) instead of a backlog of turns
piling up behind their conversations' order and timing out."""

log = structlog.get_logger("rsv360.telegram")


class TelegramChannel:
    def __init__(
        self,
        engine: Engine[Any],
        renderer: Renderer,
        sender: TelegramSender,
        queue: DeliveryQueue[Reply],
        payloads: PayloadStore,
        roles: RoleBook,
        *,
        max_text_chars: int,
    ) -> None:
        self._engine = engine
        self._renderer = renderer
        self._sender = sender
        self._queue = queue
        self._payloads = payloads
        self._roles = roles
        self._max_text_chars = max_text_chars
        self.bot = sender.bot
        self.dispatcher = Dispatcher()
        router = Router(name=CHANNEL)
        router.message(F.text)(self._on_text)
        router.message()(self._on_other)
        router.callback_query()(self._on_button)
        self.dispatcher.include_router(router)
        self._polling: asyncio.Task[None] | None = None
        self._webhook: _CheckedRequestHandler | None = None

    # -- mounting ----------------------------------------------------------------------------

    def mount_webhook(self, app: web.Application, secret_token: str) -> None:
        self._webhook = _CheckedRequestHandler(
            self.dispatcher, self.bot, handle_in_background=True, secret_token=secret_token
        )
        app.router.add_post(WEBHOOK_PATH, self._webhook.handle)
        app.on_shutdown.append(self._finish)
        app.on_cleanup.append(self._close)

    async def drain(self) -> None:
        """Wait for the updates being handled (shutdown lets them finish; tests wait on it)."""
        if self._webhook is not None:
            while tasks := list(self._webhook._background_feed_update_tasks):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _finish(self, _: web.Application) -> None:
        await self.drain()

    def mount_polling(self, app: web.Application) -> None:
        async def polling(_: web.Application) -> Any:
            await self.bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
            self._polling = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot, allowed_updates=ALLOWED_UPDATES, handle_signals=False,
                    close_bot_session=False,
                )
            )  # fmt: skip
            yield
            await self.dispatcher.stop_polling()
            await asyncio.gather(self._polling, return_exceptions=True)

        app.cleanup_ctx.append(polling)
        app.on_cleanup.append(self._close)

    async def _close(self, _: web.Application) -> None:
        await self._queue.close()
        await self.bot.session.close()

    # -- proactive ---------------------------------------------------------------------------

    async def deliver(self, address: Address, replies: Sequence[Reply]) -> bool:
        """The notifier's deliverer: queued, paced and retried; True once queued."""
        return await self._queue.put(address.conversation_id, list(replies))

    # -- inbound -----------------------------------------------------------------------------

    async def _on_text(self, message: TelegramMessage, event_update: Update) -> None:
        text = (message.text or "").strip()
        payload = _command_payload(text)
        if payload is None and len(text) > self._max_text_chars:
            await self._refuse(message, "message_too_long")
            return
        await self._handle(message, event_update, text=None if payload else text, payload=payload)

    async def _on_other(self, message: TelegramMessage, event_update: Update) -> None:
        log.info(
            "telegram_update_ignored", kind=message.content_type, update=event_update.update_id
        )

    async def _on_button(self, query: CallbackQuery, event_update: Update) -> None:
        await query.answer()  # stops the button's spinner at once
        if query.message is None or query.data is None:
            log.info("telegram_update_ignored", kind="callback", update=event_update.update_id)
            return
        payload = await self._payloads.expand(query.data)
        chat_id = query.message.chat.id
        await self._turn(
            chat_id,
            query.from_user.id,
            query.from_user.language_code,
            event_update.update_id,
            payload=payload or UNKNOWN_BUTTON,
        )

    async def _handle(
        self, message: TelegramMessage, update: Update, *, text: str | None, payload: str | None
    ) -> None:
        if message.from_user is None:
            log.info("telegram_update_ignored", kind="anonymous", update=update.update_id)
            return
        user = message.from_user
        await self._turn(
            message.chat.id, user.id, user.language_code, update.update_id, text=text,
            payload=payload,
        )  # fmt: skip

    async def _turn(
        self,
        chat_id: int,
        user_id: int,
        language: str | None,
        update_id: int,
        *,
        text: str | None = None,
        payload: str | None = None,
    ) -> None:
        destination = str(chat_id)
        await self._queue.reachable_again(destination)
        # Typing shows only when the turn is slow (the LLM helping): a fast answer needs none,
        # and every action call counts against the chat's limits.
        async with ChatActionSender.typing(
            bot=self.bot, chat_id=chat_id, initial_sleep=TYPING_AFTER_SECONDS
        ):
            result = await self._engine.handle(
                Message(
                    channel=CHANNEL,
                    conversation_id=destination,
                    user_id=str(user_id),
                    text=text,
                    payload=payload,
                    locale_hint=language,
                    update_id=str(update_id),
                    role=self._roles.role_of(CHANNEL, str(user_id)),
                )
            )
        for reply in result.replies:
            if not await self._queue.send_now(destination, reply):
                log.warning("telegram_reply_lost", chat=pseudonym(f"{CHANNEL}:{destination}"))
                return

    async def _refuse(self, message: TelegramMessage, code: str) -> None:
        language = message.from_user.language_code if message.from_user else None
        locale = self._renderer.locale_for(language)
        reply = self._renderer.render(Outcome(f"errors/{code}"), locale, "plain")
        await self._queue.send_now(str(message.chat.id), reply)


class _CheckedRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler (secret token checked in constant time, 401 otherwise), but a
    body that is not an update is answered 400 with a log line instead of failing a task, and
    at most ``MAX_UPDATES_IN_FLIGHT`` updates are handled at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = asyncio.Semaphore(MAX_UPDATES_IN_FLIGHT)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        # aiogram compares str, which raises on a header that is not ASCII: compare bytes.
        return not self.secret_token or same_secret(
            telegram_secret_token, self.secret_token.encode()
        )

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            raw = json_object(await request.read())
            update = Update.model_validate(raw, context={"bot": bot})
        except (MalformedJson, ValidationError) as error:
            log.warning("telegram_update_malformed", error=type(error).__name__)
            return web.json_response({"ok": False}, status=400)
        await self._slots.acquire()
        task = asyncio.create_task(self._feed(bot, update))
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        task.add_done_callback(lambda _: self._slots.release())
        return web.json_response({})

    async def _feed(self, bot: Bot, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(bot, update, **self.data)
        except Exception:  # the engine answers its own failures; this is the adapter's
            log.exception("telegram_update_failed", update=update.update_id)


def _command_payload(text: str) -> str | None:
    match = DEEP_LINK.match(text)
    if match is not None:
        slug = match.group(1)
        return button_payload("book", property=slug) if slug else COMMANDS["/start"]
    command = text.split("@", 1)[0].lower()
    return COMMANDS.get(command) if command.startswith("/") and command != "/start" else None


async def set_webhook(bot: Bot, url: str, secret_token: str) -> bool:
    """Register the webhook with the update types the channel handles."""
    async with provider_errors():
        return await bot.set_webhook(
            url, secret_token=secret_token, allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )  # fmt: skip
