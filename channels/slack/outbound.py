"""A reply as Slack Web API calls: mrkdwn text (escaped), Block Kit buttons, images.

Button values carry the payload itself (Slack allows 2000 characters); link buttons open their
URL. Pictures are uploaded from the media store when the bytes are ours, else shown by URL.
Failures become ``bot.outbound.delivery`` outcomes: ``ratelimited``/429 →
``RetryLater(Retry-After)``, 5xx → ``RetryLater()``, a channel the bot may no longer write to →
``Unreachable``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.types import Reply
from bot.outbound.delivery import RetryLater, Unreachable
from bot.stores.base import MediaStore
from channels.text import split_text

SECTION_LIMIT = 3000
GONE = {"channel_not_found", "is_archived", "not_in_channel", "account_inactive", "user_disabled"}


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(reply: Reply) -> str:
    """The ``text`` Slack shows in notifications: mrkdwn like the blocks, so it is escaped the
    same way, or a guest's ``<!channel>`` would ping the whole team from the notification."""
    return escape(reply.text[:3000])


def blocks_of(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(part)}}
        for part in split_text(reply.text, SECTION_LIMIT)
    ]
    buttons: list[dict[str, Any]] = []
    for index, button in enumerate(reply.buttons[:25]):
        element: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": button.title[:75], "emoji": True},
            "action_id": f"rsv_{index}",
        }
        if button.url is not None:
            element["url"] = button.url
        elif button.payload is not None:
            element["value"] = button.payload
        else:
            continue
        buttons.append(element)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


class SlackSender:
    def __init__(self, client: AsyncWebClient, media: MediaStore) -> None:
        self.client = client
        self._media = media

    async def send(self, channel: str, reply: Reply, thread: str | None = None) -> None:
        """One reply: raises ``RetryLater`` or ``Unreachable``, as ``bot.outbound.delivery``
        expects."""
        async with provider_errors():
            image = reply.image
            if image is not None:
                media = await self._media.get(image.media_key) if image.media_key else None
                if media is not None:
                    await self.client.files_upload_v2(
                        channel=channel,
                        content=media.data,
                        filename="picture.png",
                        alt_txt=image.alt,
                        thread_ts=thread,
                    )
                else:
                    alt = image.alt or "picture"
                    blocks = [{"type": "image", "image_url": image.url, "alt_text": alt}]
                    await self.client.chat_postMessage(
                        channel=channel, text=escape(alt), blocks=blocks, thread_ts=thread
                    )
            await self.client.chat_postMessage(
                channel=channel,
                text=fallback_text(reply),
                blocks=blocks_of(reply),
                thread_ts=thread,
            )


@asynccontextmanager
async def provider_errors() -> AsyncIterator[None]:
    try:
        yield
    except SlackApiError as error:
        status = error.response.status_code
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if status == 429 or code == "ratelimited":
            retry_after = error.response.headers.get("Retry-After")
            raise RetryLater(float(retry_after) if retry_after else None) from error
        if status >= 500:
            raise RetryLater() from error
        if code in GONE:
            raise Unreachable() from error
        raise
    except (ClientError, TimeoutError) as error:
        raise RetryLater() from error
