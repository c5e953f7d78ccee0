"""Alert messages on Telegram: one message per alert, sent with the bot's token and edited in
place (``editMessageText``) when the alert repeats, resolves or is acknowledged.

An alert is bounded (summary and details are clipped), so it is one message: text beyond
Telegram's limit is cut rather than split, since only one message can be edited later. An edit
Telegram finds identical to the message is already done; a message the staff deleted is sent
again, and the new one is edited from then on.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LinkPreviewOptions

from bot.core.types import Reply
from channels.telegram.outbound import HTML, TelegramSender, provider_errors
from channels.telegram.text import MESSAGE_LIMIT, escape

NOT_MODIFIED = "message is not modified"
NOT_FOUND = "message to edit not found"


class TelegramAlertPoster:
    editable = True

    def __init__(self, sender: TelegramSender) -> None:
        self._sender = sender

    async def post(self, conversation: str, reply: Reply) -> str | None:
        async with provider_errors():
            message = await self._sender.bot.send_message(
                int(conversation),
                escape(_one_message(reply.text)),
                parse_mode=HTML,
                reply_markup=await self._sender.keyboard(reply.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        return str(message.message_id)

    async def edit(self, conversation: str, ref: str, reply: Reply) -> str | None:
        try:
            async with provider_errors():
                await self._sender.bot.edit_message_text(
                    text=escape(_one_message(reply.text)),
                    chat_id=int(conversation),
                    message_id=int(ref),
                    parse_mode=HTML,
                    reply_markup=await self._sender.keyboard(reply.buttons),
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except TelegramBadRequest as refused:
            if NOT_MODIFIED in refused.message:
                return ref
            if NOT_FOUND in refused.message:
                return await self.post(conversation, reply)
            raise
        return ref


def _one_message(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
