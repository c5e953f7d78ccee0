"""Telegram updates in, replies out: the guests' main channel.

Webhook mode answers Telegram at once and handles the update in a background task (Telegram
sends again after 60 s without an answer); polling mode is for a laptop without a public URL.
Either way one aiogram ``Dispatcher`` turns messages and button presses into ``bot.Message``:
the Telegram user's ``language_code`` is the locale hint, the update id dedupes re-deliveries,
``/start <slug>`` (a ``t.me/<bot>?start=pousada-do-mar`` link) opens the booking of that
property. A voice message is transcribed (``channels.voice``) when an endpoint is configured,
and handled as the text it says; otherwise the guest is asked to type.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from io import BytesIO
from typing import Any

import structlog
from aiogram import Dispatcher, F, Router
from aiogram.types import CallbackQuery, Update, User
from aiogram.types import Message as TelegramMessage
from aiogram.utils.chat_action import ChatActionSender
from aiohttp import web
from pydantic import ValidationError

from bot.core.buttons import button_payload
from bot.core.engine import Engine
from bot.core.observability import WebhookVerification
from bot.core.payloads import PayloadStore
from bot.core.render import Renderer
from bot.core.roles import RoleBook
from bot.core.types import Outcome, Reply
from bot.edge.credentials import same_secret
from bot.edge.json_body import MalformedJson, json_object
from bot.outbound.delivery import Outbox
from channels.background import MAX_IN_FLIGHT
from channels.provider import Inbound, ProviderChannel
from channels.telegram.outbound import TelegramSender
from channels.telegram.registration import ALLOWED_UPDATES, CHANNEL, WEBHOOK_PATH
from channels.voice import Transcriber, VoiceTooLarge, heard

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEEP_LINK = re.compile(r"^/start(?:@\w+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$")
COMMANDS = {"/help": button_payload("help"), "/start": button_payload("greet")}
UNKNOWN_BUTTON = "unknown"
TYPING_AFTER_SECONDS = 0.25

log = structlog.get_logger("rsv360.telegram")


class TelegramChannel(ProviderChannel):
    def __init__(
        self,
        engine: Engine[Any],
        renderer: Renderer,
        sender: TelegramSender,
        queue: Outbox[Reply],
        payloads: PayloadStore,
        roles: RoleBook,
        *,
        max_text_chars: int,
        deep_link: Callable[[str], str],
        verification: WebhookVerification,
        max_in_flight: int = MAX_IN_FLIGHT,
        transcriber: Transcriber | None = None,
        voice_max_bytes: int = 2_000_000,
        voice_max_seconds: float = 120.0,
    ) -> None:
        """``deep_link`` turns a ``/start <parameter>`` link into the button payload it opens
        (the capability behind the link decides, not the channel); ``transcriber`` is None when
        no endpoint is configured."""
        super().__init__(CHANNEL, engine, renderer, roles, queue, max_text_chars, max_in_flight)
        self.sender = sender
        self._payloads = payloads
        self._secret = b""
        self._deep_link = deep_link
        self._verification = verification
        verification.watch(CHANNEL, "secret")
        self._transcriber = transcriber
        self._voice_max_bytes = voice_max_bytes
        self._voice_max_seconds = voice_max_seconds
        self.bot = sender.bot
        self.dispatcher = Dispatcher()
        router = Router(name=CHANNEL)
        router.message(F.text)(self._on_text)
        router.message(F.voice)(self._on_voice)
        router.message()(self._on_other)
        router.callback_query()(self._on_button)
        self.dispatcher.include_router(router)
        self._polling: asyncio.Task[None] | None = None

    # -- mounting ----------------------------------------------------------------------------

    def mount_webhook(self, app: web.Application, secret_token: str) -> None:
        self._secret = secret_token.encode()
        app.router.add_post(WEBHOOK_PATH, self._on_webhook)
        app.on_cleanup.append(self._close)

    def mount_polling(self, app: web.Application) -> None:
        async def polling(_: web.Application) -> Any:
            await self.bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
            self._polling = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot,
                    allowed_updates=ALLOWED_UPDATES,
                    handle_signals=False,
                    close_bot_session=False,
                    tasks_concurrency_limit=self.work.limit,
                )
            )
            yield
            await self.dispatcher.stop_polling()
            await asyncio.gather(self._polling, return_exceptions=True)

        app.cleanup_ctx.append(polling)
        app.on_cleanup.append(self._close)

    async def _close(self, _: web.Application) -> None:
        await self.close()

    async def close(self) -> None:
        await super().close()
        await self.bot.session.close()

    # -- inbound -----------------------------------------------------------------------------

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Answered at once, the update handled after. aiogram's ``SimpleRequestHandler`` has
        no public hook for the parts we need (a 400 for a body that is not an update, a bound
        on the updates in flight, the secret compared as bytes), so the request is ours and
        the update goes through the dispatcher's public ``feed_update``."""
        # aiogram compares str, which raises on a header that is not ASCII: compare bytes.
        if not same_secret(request.headers.get(SECRET_HEADER, ""), self._secret):
            self._verification.failed(CHANNEL, "secret")
            return web.Response(status=401, text="Unauthorized")
        try:
            raw = json_object(await request.read())
            update = Update.model_validate(raw, context={"bot": self.bot})
        except (MalformedJson, ValidationError) as error:
            log.warning("telegram_update_malformed", error=type(error).__name__)
            return web.json_response({"ok": False}, status=400)
        await self.work.start(self.dispatcher.feed_update(self.bot, update))
        return web.json_response({})

    async def _on_text(self, message: TelegramMessage, event_update: Update) -> None:
        text = (message.text or "").strip()
        payload = _command_payload(text, self._deep_link)
        await self._handle(message, event_update, text=None if payload else text, payload=payload)

    async def _on_voice(self, message: TelegramMessage, event_update: Update) -> None:
        voice = message.voice
        if voice is None or message.from_user is None:
            return
        hint = message.from_user.language_code
        chat_id = message.chat.id

        async def fetch() -> tuple[bytes, str]:
            too_large = (voice.file_size or 0) > self._voice_max_bytes
            if too_large or voice.duration > self._voice_max_seconds:
                raise VoiceTooLarge()
            buffer = BytesIO()
            await self.bot.download(voice.file_id, destination=buffer)
            if buffer.tell() > self._voice_max_bytes:
                raise VoiceTooLarge()
            return buffer.getvalue(), voice.mime_type or "audio/ogg"

        async def say(template: str, values: Mapping[str, Any]) -> None:
            locale = self._renderer.locale_for(hint)
            reply = self._renderer.render(Outcome(template, values), locale, "plain")
            await self._queue.send_now(str(chat_id), reply)

        typing = ChatActionSender.typing(
            bot=self.bot, chat_id=chat_id, initial_sleep=TYPING_AFTER_SECONDS
        )
        async with typing:
            text = await heard(self._transcriber, fetch, say, CHANNEL)
        if text is not None:
            await self._handle(message, event_update, text=text, payload=None)

    async def _on_other(self, message: TelegramMessage, event_update: Update) -> None:
        log.info(
            "telegram_update_ignored", kind=message.content_type, update=event_update.update_id
        )

    async def _on_button(self, query: CallbackQuery, event_update: Update) -> None:
        await query.answer()  # stops the button's spinner at once
        if query.message is None or query.data is None:
            log.info("telegram_update_ignored", kind="callback", update=event_update.update_id)
            return
        payload = await self._payloads.expand(query.data) or UNKNOWN_BUTTON
        user = query.from_user
        await self._turn(query.message.chat.id, user, event_update, payload=payload)

    async def _handle(
        self, message: TelegramMessage, update: Update, *, text: str | None, payload: str | None
    ) -> None:
        if message.from_user is None:
            log.info("telegram_update_ignored", kind="anonymous", update=update.update_id)
            return
        await self._turn(message.chat.id, message.from_user, update, text=text, payload=payload)

    async def _turn(
        self,
        chat_id: int,
        user: User,
        update: Update,
        *,
        text: str | None = None,
        payload: str | None = None,
    ) -> None:
        destination = str(chat_id)
        await self._queue.reachable_again(destination)

        async def answer(reply: Reply) -> bool:
            return await self._queue.send_now(destination, reply)

        inbound = Inbound(
            destination,
            str(user.id),
            str(update.update_id),
            text=text,
            payload=payload,
            locale_hint=user.language_code,
        )
        # Typing shows only when the turn is slow (the LLM helping): a fast answer needs none,
        # and every action call counts against the chat's limits.
        typing = ChatActionSender.typing(
            bot=self.bot, chat_id=chat_id, initial_sleep=TYPING_AFTER_SECONDS
        )
        await self.turn(inbound, answer, thinking=typing)


def _command_payload(text: str, deep_link: Callable[[str], str]) -> str | None:
    match = DEEP_LINK.match(text)
    if match is not None:
        parameter = match.group(1)
        return deep_link(parameter) if parameter else COMMANDS["/start"]
    command = text.split("@", 1)[0].lower()
    return COMMANDS.get(command) if command.startswith("/") and command != "/start" else None
