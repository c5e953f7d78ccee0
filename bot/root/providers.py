"""Telegram, Slack, Discord and WhatsApp wired from settings: each channel whose credentials
are set, with its paced delivery queue; one without them is simply off.

A provider's SDK (aiogram, slack-bolt, discord.py, openai for voice notes) and its channel
module are imported by the function that builds that channel, never at the top: a worker whose
channel is off does not pay for the library (aiogram alone is over 100 MB resident;
docs/benchmarks.md, "Memory").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from actions.booking.conversation import deep_link
from bot.core.locales import SUPPORTED_LOCALES
from bot.core.payloads import PayloadStore
from bot.core.types import Outcome, Reply
from bot.outbound.delivery import Courier, DeliveryQueue, Outbox, Pace, Send, UnreachableStore
from bot.outbound.outbox import DurableOutbox
from bot.root.secret import webhook_secret
from bot.root.settings import PACKAGE_ROOT, Settings
from bot.steps.dedupe import DedupeStore
from channels.telegram.registration import CHANNEL as TELEGRAM

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.root.app import Runtime
    from channels.discord.channel import DiscordChannel
    from channels.slack.channel import SlackChannel
    from channels.telegram.channel import TelegramChannel
    from channels.voice import Transcriber
    from channels.whatsapp.channel import WhatsAppChannel

PROVIDER_CHANNELS = web.AppKey("provider_channels", dict[str, Any])


def mount_provider_channels(app: web.Application, runtime: Runtime) -> dict[str, Any]:
    """Each provider channel whose credentials are set, taking its updates from the app."""
    channels = provider_channels(runtime)
    settings = runtime.settings
    if TELEGRAM in channels:
        if settings.telegram.mode == "webhook":
            channels[TELEGRAM].mount_webhook(app, webhook_secret(settings, TELEGRAM))
        else:
            channels[TELEGRAM].mount_polling(app)
    for name, channel in channels.items():
        if name != TELEGRAM:
            channel.mount(app)
    return channels


def provider_channels(runtime: Runtime) -> dict[str, Any]:
    """Each provider channel whose credentials are set, its deliverer registered with the
    notifier; one without them is simply off. A job worker uses them only to send."""
    built: list[Any] = []
    settings = runtime.settings
    payloads = PayloadStore(runtime.stores.payloads)
    unreachable = UnreachableStore(runtime.stores.unreachable)
    if settings.telegram.token is not None:
        built.append(telegram_channel(runtime, payloads, unreachable))
    if settings.slack.bot_token is not None and settings.slack.signing_secret is not None:
        built.append(slack_channel(runtime, unreachable))
    if settings.discord.token is not None:
        built.append(discord_channel(runtime, payloads, unreachable))
    if settings.whatsapp.access_token is not None:
        built.append(whatsapp_channel(runtime, payloads, unreachable))
    for channel in built:
        runtime.notifier.register(channel.channel, channel.deliver)
    return {channel.channel: channel for channel in built}


async def open_for_sending(channels: dict[str, Any]) -> None:
    """What a process that only sends needs (discord.py sends once logged in)."""
    for channel in channels.values():
        await channel.open_for_sending()


async def close_provider_channels(channels: dict[str, Any]) -> None:
    for channel in channels.values():
        await channel.close()


class WhatsAppIncomplete(ValueError):
    """The access token is set but not everything else the channel needs."""


def whatsapp_channel(
    runtime: Runtime, payloads: PayloadStore, unreachable: UnreachableStore
) -> WhatsAppChannel:
    from channels.whatsapp.channel import WhatsAppChannel
    from channels.whatsapp.graph import GraphApi
    from channels.whatsapp.outbound import WhatsAppSender
    from channels.whatsapp.registration import CHANNEL as WHATSAPP
    from channels.whatsapp.templates import Templates
    from channels.whatsapp.window import ConversationWindow, SentNotices

    settings = runtime.settings
    section = settings.whatsapp
    needed = {
        "RSV_WHATSAPP_PHONE_NUMBER_ID": section.phone_number_id,
        "RSV_WHATSAPP_APP_SECRET": section.app_secret,
        "RSV_WHATSAPP_VERIFY_TOKEN": section.verify_token,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:  # half a channel would drop every message
        raise WhatsAppIncomplete(f"the WhatsApp channel also needs {', '.join(missing)}")
    assert section.access_token is not None
    assert section.phone_number_id is not None
    assert section.app_secret is not None
    assert section.verify_token is not None
    templates = Templates.load(section.templates_file, SUPPORTED_LOCALES, notice_exists)
    graph = GraphApi(
        section.api_url,
        section.phone_number_id,
        section.access_token.get_secret_value(),
        section.timeout_seconds,
    )
    window = ConversationWindow(runtime.stores.sessions)
    sent = SentNotices(runtime.stores.sessions)
    renderer = runtime.renderer

    def list_label(locale: str) -> str:
        return renderer.render(Outcome("channels/whatsapp_list_button"), locale, "plain").text

    sender = WhatsAppSender(
        graph,
        payloads,
        runtime.media.store,
        templates,
        window,
        sent,
        list_label,
        renderer.default_locale,
    )
    pace = Pace(
        section.recipient_interval_seconds,
        section.messages_per_second,
        max_attempts=settings.delivery_max_attempts,
    )
    queue = outbox(runtime, WHATSAPP, sender.send, pace, unreachable)
    return WhatsAppChannel(
        runtime.engine,
        renderer,
        sender,
        queue,
        payloads,
        runtime.roles,
        DedupeStore(runtime.stores.dedupe),
        window,
        sent,
        runtime.metrics,
        app_secret=section.app_secret.get_secret_value(),
        verify_token=section.verify_token.get_secret_value(),
        max_text_chars=settings.max_text_chars,
        deep_link=deep_link,
        transcriber=transcriber(settings),
        voice_max_bytes=settings.llm.voice_max_bytes,
    )


def notice_exists(template: str) -> bool:
    return (PACKAGE_ROOT / "prompts" / f"{template}.j2").is_file()


def transcriber(settings: Settings) -> Transcriber | None:
    """Voice notes become text through the LLM endpoint, when one is configured."""
    llm = settings.llm
    if llm.base_url is None:
        return None
    from openai import AsyncOpenAI

    from channels.voice import Transcriber

    client = AsyncOpenAI(
        base_url=llm.base_url,
        api_key=llm.api_key.get_secret_value(),
        timeout=llm.transcription_timeout_seconds,
        max_retries=1,
    )
    return Transcriber(
        client, llm.transcription_model, llm.voice_max_seconds, llm.transcription_min_confidence
    )


def discord_channel(
    runtime: Runtime, payloads: PayloadStore, unreachable: UnreachableStore
) -> DiscordChannel:
    import discord
    import yarl

    from channels.discord.channel import CHANNEL as DISCORD
    from channels.discord.channel import DiscordChannel
    from channels.discord.outbound import DiscordSender

    settings = runtime.settings
    assert settings.discord.token is not None
    if settings.discord.api_url:  # discord.py keeps its endpoints on classes: one per process
        discord.http.Route.BASE = settings.discord.api_url.rstrip("/")
    if settings.discord.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord.gateway_url)
    intents = discord.Intents.none()
    intents.guilds = intents.dm_messages = True
    # Also refused per message (DiscordSender): any send that forgets it still pings nobody.
    client = discord.Client(intents=intents, allowed_mentions=discord.AllowedMentions.none())
    sender = DiscordSender(client, payloads, runtime.media.store)
    # discord.py waits out Discord's rate-limit buckets itself, from the response headers.
    pace = Pace(0.0, max_attempts=settings.delivery_max_attempts)
    queue = outbox(runtime, DISCORD, sender.send, pace, unreachable)
    locale = runtime.renderer.default_locale
    described = [
        runtime.renderer.render(Outcome(f"channels/{name}"), locale, "plain").text
        for name in ("discord_command", "discord_text")
    ]
    return DiscordChannel(
        runtime.engine,
        runtime.renderer,
        sender,
        queue,
        payloads,
        runtime.roles,
        token=settings.discord.token.get_secret_value(),
        max_text_chars=settings.max_text_chars,
        command_description=described[0],
        text_description=described[1],
    )


def slack_channel(runtime: Runtime, unreachable: UnreachableStore) -> SlackChannel:
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncRateLimitErrorRetryHandler,
        async_default_handlers,
    )
    from slack_sdk.web.async_client import AsyncWebClient

    from channels.slack.channel import CHANNEL as SLACK
    from channels.slack.channel import SlackChannel
    from channels.slack.outbound import SlackSender

    settings = runtime.settings
    assert settings.slack.bot_token is not None
    assert settings.slack.signing_secret is not None
    client = AsyncWebClient(
        settings.slack.bot_token.get_secret_value(),
        base_url=settings.slack.api_url or AsyncWebClient.BASE_URL,
        retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler()],
    )
    sender = SlackSender(client, runtime.media.store)
    pace = Pace(
        settings.slack.channel_interval_seconds, max_attempts=settings.delivery_max_attempts
    )
    queue = outbox(runtime, SLACK, sender.send, pace, unreachable)
    return SlackChannel(
        runtime.engine,
        runtime.renderer,
        sender,
        queue,
        runtime.roles,
        DedupeStore(runtime.stores.dedupe),
        signing_secret=settings.slack.signing_secret.get_secret_value(),
        verification=runtime.metrics.webhook_verification,
        max_text_chars=settings.max_text_chars,
    )


def telegram_bot(settings: Settings) -> Bot:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    assert settings.telegram.token is not None
    api = (
        TelegramAPIServer.from_base(settings.telegram.api_url)
        if settings.telegram.api_url
        else None
    )
    session = AiohttpSession(api=api) if api else AiohttpSession()
    return Bot(settings.telegram.token.get_secret_value(), session=session)


def telegram_channel(
    runtime: Runtime, payloads: PayloadStore, unreachable: UnreachableStore
) -> TelegramChannel:
    from channels.telegram.channel import TelegramChannel
    from channels.telegram.outbound import TelegramSender

    settings = runtime.settings
    sender = TelegramSender(telegram_bot(settings), payloads, runtime.media.store)
    pace = Pace(
        settings.telegram.chat_interval_seconds,
        settings.telegram.messages_per_second,
        max_attempts=settings.delivery_max_attempts,
    )
    queue = outbox(runtime, TELEGRAM, sender.send, pace, unreachable)
    return TelegramChannel(
        runtime.engine,
        runtime.renderer,
        sender,
        queue,
        payloads,
        runtime.roles,
        max_text_chars=settings.max_text_chars,
        deep_link=deep_link,
        verification=runtime.metrics.webhook_verification,
        transcriber=transcriber(settings),
        voice_max_bytes=settings.llm.voice_max_bytes,
        voice_max_seconds=settings.llm.voice_max_seconds,
    )


def outbox(
    runtime: Runtime, channel: str, send: Send[Reply], pace: Pace, unreachable: UnreachableStore
) -> Outbox[Reply]:
    """Durable in Redis (drained by ``deliver`` jobs) when the job queue is, else in-process."""
    courier = Courier(channel, send, pace, runtime.metrics, unreachable)
    if runtime.jobs_redis is None:
        return DeliveryQueue(courier)
    jobs = runtime.jobs

    async def kick(channel: str, destination: str) -> None:
        await jobs.enqueue("deliver", channel=channel, destination=destination)

    durable = DurableOutbox(courier, runtime.jobs_redis, kick)
    runtime.outboxes[channel] = durable
    return durable
