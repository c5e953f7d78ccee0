"""A reply as Telegram API calls: text in HTML parse mode, inline keyboards, photos.

Provider failures become ``bot.outbound.delivery`` outcomes: 429 → ``RetryLater(retry_after)``,
5xx and network errors → ``RetryLater()``, 403 (blocked, kicked) → ``Unreachable``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import Bot
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)

from bot.core.payloads import PayloadStore
from bot.core.types import Button, Reply
from bot.outbound.delivery import RetryLater, Unreachable
from bot.stores.base import MediaStore
from channels.telegram.text import CAPTION_LIMIT, MESSAGE_LIMIT, escape, split_text

CALLBACK_DATA_BYTES = 64
HTML = "HTML"


class TelegramSender:
    def __init__(self, bot: Bot, payloads: PayloadStore, media: MediaStore) -> None:
        self.bot = bot
        self._payloads = payloads
        self._media = media

    async def send(self, chat_id: str, reply: Reply) -> None:
        """One reply: raises ``RetryLater`` or ``Unreachable``, as ``bot.outbound.delivery``
        expects."""
        async with provider_errors():
            await self._send(int(chat_id), reply)

    async def _send(self, chat_id: int, reply: Reply) -> None:
        keyboard = await self.keyboard(reply.buttons)
        parts = split_text(reply.text, MESSAGE_LIMIT)
        if reply.image is not None:
            photo: BufferedInputFile | str = reply.image.url
            if reply.image.media_key is not None:
                media = await self._media.get(reply.image.media_key)
                if media is not None:
                    photo = BufferedInputFile(media.data, filename="picture.png")
            if len(parts) == 1 and len(parts[0]) <= CAPTION_LIMIT:
                await self.bot.send_photo(
                    chat_id, photo, caption=escape(parts[0]), parse_mode=HTML, reply_markup=keyboard
                )
                return
            await self.bot.send_photo(chat_id, photo, reply_markup=None if parts else keyboard)
        for index, part in enumerate(parts):
            await self.bot.send_message(
                chat_id,
                escape(part),
                parse_mode=HTML,
                reply_markup=keyboard if index == len(parts) - 1 else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

    async def keyboard(self, buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
        if not buttons:
            return None
        rows = []
        for button in buttons:
            if button.url is not None:
                rows.append([InlineKeyboardButton(text=button.title, url=button.url)])
            elif button.payload is not None:
                data = await self._payloads.shorten(button.payload, CALLBACK_DATA_BYTES)
                rows.append([InlineKeyboardButton(text=button.title, callback_data=data)])
        return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


@asynccontextmanager
async def provider_errors() -> AsyncIterator[None]:
    try:
        yield
    except TelegramRetryAfter as busy:
        raise RetryLater(busy.retry_after) from busy
    except (TelegramServerError, TelegramNetworkError) as down:
        raise RetryLater() from down
    except TelegramForbiddenError as blocked:
        raise Unreachable() from blocked
