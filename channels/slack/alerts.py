"""Alert messages on Slack: posted with the bot's token and edited in place (``chat.update``),
or posted to an incoming webhook for teams that do not install the app (which cannot edit)."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.types import Reply
from bot.outbound.delivery import RetryLater
from channels.slack.outbound import blocks_of, fallback_text, provider_errors


class SlackAlertPoster:
    editable = True

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(self, conversation: str, reply: Reply) -> str | None:
        async with provider_errors():
            response = await self._client.chat_postMessage(
                channel=conversation, text=fallback_text(reply), blocks=blocks_of(reply)
            )
        return str(response["ts"])

    async def edit(self, conversation: str, ref: str, reply: Reply) -> str | None:
        async with provider_errors():
            await self._client.chat_update(
                channel=conversation, ts=ref, text=fallback_text(reply), blocks=blocks_of(reply)
            )
        return ref


class SlackWebhookPoster:
    """Link buttons only: a webhook's message cannot call the bot back."""

    async def post(self, url: str, reply: Reply) -> None:
        links = Reply(reply.text, tuple(button for button in reply.buttons if button.url))
        response = await AsyncWebhookClient(url, timeout=10).send(
            text=fallback_text(links), blocks=blocks_of(links)
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryLater()
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")
