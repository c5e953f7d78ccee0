"""A reply as Cloud API messages: text, reply buttons, lists, a link button, pictures, Pix.

- text: escaped for WhatsApp's formatting, split at 4096 characters;
- up to 3 choices whose titles fit 20 characters: reply buttons; otherwise a list (rows of 24
  characters, the full title in the row's description, so no choice loses its meaning), 10
  rows per list;
- a link (the payment page): a call-to-action URL button;
- a picture: uploaded from the media store (chart, Pix QR code), else sent by its link;
- a Pix copy-and-paste code (``Reply.copy_text``): a message of its own, unescaped, so one tap
  copies exactly the code;
- outside the 24-hour window a proactive notice goes as its approved template, and a notice
  without one cannot be delivered (``Unreachable`` until the guest writes again).

Graph failures become ``bot.outbound.delivery`` outcomes: 429, 5xx, network errors and Meta's
rate-limit codes → ``RetryLater``; undeliverable and re-engagement codes → ``Unreachable``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import ClientError

from bot.core.payloads import PayloadStore
from bot.core.types import Button, Reply
from bot.outbound.delivery import RetryLater, Unreachable
from bot.stores.base import MediaStore
from channels.whatsapp.graph import GraphApi, GraphError
from channels.whatsapp.templates import Templates
from channels.whatsapp.text import (
    BUTTON_TITLE_LIMIT,
    CAPTION_LIMIT,
    INTERACTIVE_BODY_LIMIT,
    MAX_LIST_ROWS,
    MAX_REPLY_BUTTONS,
    MESSAGE_LIMIT,
    ROW_DESCRIPTION_LIMIT,
    ROW_TITLE_LIMIT,
    escape,
    shorten,
    split_text,
)
from channels.whatsapp.window import ConversationWindow, SentNotices

CHOICE_ID_CHARS = 200
"""A list row's id holds 200 characters (a reply button's 256): long payloads get a short key."""
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131048, 131056})
"""App, account, throughput, spam and per-recipient (pair) rate limits: try again later."""
TEMPORARY_CODES = frozenset({1, 2, 131000, 131016})
UNDELIVERABLE_CODES = frozenset({131026, 131047})
"""Undeliverable (not on WhatsApp, old app, blocked), and outside the 24-hour window."""
OUTSIDE_WINDOW_CODE = 131047

ListLabel = Callable[[str], str]
"""The label of the button that opens a list, in a locale (from the templates)."""


class WhatsAppSender:
    def __init__(
        self,
        graph: GraphApi,
        payloads: PayloadStore,
        media: MediaStore,
        templates: Templates,
        window: ConversationWindow,
        sent: SentNotices,
        list_label: ListLabel,
        default_locale: str,
    ) -> None:
        self.graph = graph
        self._payloads = payloads
        self._media = media
        self._templates = templates
        self._window = window
        self._sent = sent
        self._list_label = list_label
        self._default_locale = default_locale

    async def send(self, to: str, reply: Reply) -> None:
        """One reply: raises ``RetryLater`` or ``Unreachable``, as ``bot.outbound.delivery``
        expects."""
        async with provider_errors():
            if not await self._window.is_open(to):
                await self._send_template(to, reply)
                return
            try:
                first = await self._send(to, reply)
            except GraphError as refused:
                if refused.code != OUTSIDE_WINDOW_CODE:
                    raise
                # Meta says the window closed (we remembered otherwise): the template, once.
                await self._window.closed(to)
                await self._send_template(to, reply)
                return
            notice = reply.notice
            if first and notice is not None and self._templates.for_notice(notice.template):
                await self._sent.remember(first, to, notice)

    async def _send_template(self, to: str, reply: Reply) -> None:
        notice = reply.notice
        template = notice and self._templates.message(notice.template, notice.locale, notice.values)
        if not template:  # free text would be refused: the guest is out of reach until they write
            raise Unreachable()
        await self.graph.send(to, "template", template)

    async def _send(self, to: str, reply: Reply) -> str | None:
        """The reply's messages in order; the id of the first."""
        ids: list[str] = []
        text = reply.text
        if reply.copy_text:
            text = text.replace(reply.copy_text, "").strip()
        links = [button for button in reply.buttons if button.url]
        choices = [button for button in reply.buttons if button.payload and not button.url]
        parts = split_text(text, MESSAGE_LIMIT) if text else []
        interactive = bool(links or choices)
        if (
            reply.image is not None
            and not interactive
            and not reply.copy_text
            and (len(parts) == 1 and len(parts[0]) <= CAPTION_LIMIT)
        ):
            ids.append(await self._image(to, reply, caption=parts[0]))
            return ids[0]
        body = None
        if interactive and parts:
            last = parts.pop()
            if len(last) > INTERACTIVE_BODY_LIMIT:
                *leading, last = split_text(last, INTERACTIVE_BODY_LIMIT)
                parts.extend(leading)
            body = last
        for part in parts:
            ids.append(await self._text(to, part))
        locale = reply.notice.locale if reply.notice else self._default_locale
        if choices:
            ids.extend(await self._choices(to, body or choices[0].title, choices, locale))
            body = None
        for link in links:
            ids.append(await self._link(to, body or link.title, link))
            body = None
        if reply.copy_text:
            ids.append(await self.graph.send(to, "text", {"body": reply.copy_text}))
        if reply.image is not None:
            ids.append(await self._image(to, reply, caption=None))
        return ids[0] if ids else None

    async def _text(self, to: str, text: str) -> str:
        return await self.graph.send(to, "text", {"body": escape(text), "preview_url": False})

    async def _choices(self, to: str, body: str, choices: list[Button], locale: str) -> list[str]:
        ids: list[str] = []
        if len(choices) <= MAX_REPLY_BUTTONS and all(
            len(" ".join(choice.title.split())) <= BUTTON_TITLE_LIMIT for choice in choices
        ):
            buttons = [
                {"type": "reply", "reply": {"id": await self._id(choice), "title": choice.title}}
                for choice in choices
            ]
            content = {
                "type": "button",
                "body": {"text": escape(body)},
                "action": {"buttons": buttons},
            }
            return [await self.graph.send(to, "interactive", content)]
        label = shorten(self._list_label(locale), BUTTON_TITLE_LIMIT)
        for start in range(0, len(choices), MAX_LIST_ROWS):
            chunk = choices[start : start + MAX_LIST_ROWS]
            rows = [await self._row(choice) for choice in chunk]
            content = {
                "type": "list",
                "body": {"text": escape(body if start == 0 else chunk[0].title)},
                "action": {"button": label, "sections": [{"rows": rows}]},
            }
            ids.append(await self.graph.send(to, "interactive", content))
        return ids

    async def _row(self, choice: Button) -> dict[str, str]:
        row = {"id": await self._id(choice), "title": shorten(choice.title, ROW_TITLE_LIMIT)}
        if row["title"] != choice.title:
            row["description"] = shorten(choice.title, ROW_DESCRIPTION_LIMIT)
        return row

    async def _link(self, to: str, body: str, link: Button) -> str:
        content = {
            "type": "cta_url",
            "body": {"text": escape(body)},
            "action": {
                "name": "cta_url",
                "parameters": {
                    "display_text": shorten(link.title, BUTTON_TITLE_LIMIT),
                    "url": link.url,
                },
            },
        }
        return await self.graph.send(to, "interactive", content)

    async def _image(self, to: str, reply: Reply, caption: str | None) -> str:
        assert reply.image is not None
        content: dict[str, str] = {"link": reply.image.url}
        if reply.image.media_key is not None:
            media = await self._media.get(reply.image.media_key)
            if media is not None:
                content = {"id": await self.graph.upload(media.data, media.content_type)}
        if caption:
            content["caption"] = escape(caption)
        return await self.graph.send(to, "image", content)

    async def _id(self, choice: Button) -> str:
        assert choice.payload is not None
        return await self._payloads.shorten(choice.payload, CHOICE_ID_CHARS)


@asynccontextmanager
async def provider_errors() -> AsyncIterator[None]:
    try:
        yield
    except GraphError as refused:
        if refused.code in UNDELIVERABLE_CODES:
            raise Unreachable() from refused
        if (
            refused.status == 429
            or refused.status >= 500
            or refused.code in RATE_LIMIT_CODES | TEMPORARY_CODES
        ):
            raise RetryLater() from refused
        raise
    except (ClientError, TimeoutError) as down:
        raise RetryLater() from down
