"""WhatsApp Cloud API messages in, replies out: the channel Brazilian guests use.

``GET /whatsapp/webhook`` answers Meta's verification; ``POST`` checks ``X-Hub-Signature-256``
against the raw body (401 and nothing done on a mismatch), answers at once and handles each
message and status in the background (``channels.background``), messages deduped by their id
(Meta re-delivers). The guest's number is the conversation; its country calling code is the
locale hint (WhatsApp gives no language). Each message is marked read; a slow turn shows
"typing…". A prefilled deep-link message (``… [#pousada-do-mar]``) opens that property's
booking, like Telegram's ``/start <slug>``. Voice notes are transcribed when an endpoint is
configured, else the guest is asked to type.

Statuses count ``rsv_provider_statuses_total`` per status and error code. A ``failed`` outside
the 24-hour window sends the notice's approved template instead; an undeliverable one, or one
without a template, marks the guest unreachable until they write again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import structlog
from aiohttp import ClientError, web

from bot.core.engine import Engine
from bot.core.loops import cancel_and_wait
from bot.core.observability import Metrics, pseudonym
from bot.core.payloads import PayloadStore
from bot.core.render import Renderer
from bot.core.roles import RoleBook
from bot.core.types import Outcome, Reply
from bot.edge.credentials import same_secret
from bot.outbound.delivery import Outbox
from bot.steps.dedupe import DedupeStore
from channels.background import MAX_IN_FLIGHT
from channels.provider import Answer, Inbound, ProviderChannel
from channels.voice import Transcriber, VoiceTooLarge, heard
from channels.whatsapp.graph import GraphError, MediaTooLarge
from channels.whatsapp.outbound import OUTSIDE_WINDOW_CODE, UNDELIVERABLE_CODES, WhatsAppSender
from channels.whatsapp.registration import CHANNEL, WEBHOOK_PATH, linked_property
from channels.whatsapp.webhook import (
    SIGNATURE_HEADER,
    IncomingMessage,
    MalformedNotification,
    StatusUpdate,
    parse_notification,
    signature_matches,
)
from channels.whatsapp.window import ConversationWindow, SentNotices

UNKNOWN_BUTTON = "unknown"
TYPING_AFTER_SECONDS = 0.25
TYPING_REPEAT_SECONDS = 20.0
"""WhatsApp shows "typing…" for 25 seconds at most: a longer turn shows it again."""
DEDUPE_TTL_SECONDS = 24 * 60 * 60
STATUSES = frozenset({"sent", "delivered", "read", "failed", "deleted", "warning"})
PORTUGUESE_CODES = ("55", "351", "244", "258", "238", "245", "239", "670")
SPANISH_CODES = (
    *("34", "52", "54", "56", "57", "58", "51", "53", "591", "593", "595", "598"),
    *("502", "503", "504", "505", "506", "507"),
)
ENGLISH_CODES = ("1", "44", "353", "61", "64", "27")
LOCALES_BY_CALLING_CODE = (
    dict.fromkeys(PORTUGUESE_CODES, "pt")
    | dict.fromkeys(SPANISH_CODES, "es")
    | dict.fromkeys(ENGLISH_CODES, "en")
)
"""Where the guest's number is from says more about their language than nothing at all."""

log = structlog.get_logger("rsv360.whatsapp")


class WhatsAppChannel(ProviderChannel):
    def __init__(
        self,
        engine: Engine[Any],
        renderer: Renderer,
        sender: WhatsAppSender,
        queue: Outbox[Reply],
        payloads: PayloadStore,
        roles: RoleBook,
        seen: DedupeStore,
        window: ConversationWindow,
        sent: SentNotices,
        metrics: Metrics,
        *,
        app_secret: str,
        verify_token: str,
        max_text_chars: int,
        deep_link: Callable[[str], str],
        transcriber: Transcriber | None = None,
        voice_max_bytes: int = 2_000_000,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        """``deep_link`` turns the property a prefilled message names into the payload it
        opens; ``transcriber`` is None when no endpoint is configured."""
        super().__init__(CHANNEL, engine, renderer, roles, queue, max_text_chars, max_in_flight)
        self.sender = sender
        self._payloads = payloads
        self._seen = seen
        self._window = window
        self._sent = sent
        self._metrics = metrics
        self._app_secret = app_secret.encode()
        self._verify_token = verify_token.encode()
        metrics.webhook_verification.watch(CHANNEL, "signature", "verify_token")
        self._deep_link = deep_link
        self._transcriber = transcriber
        self._voice_max_bytes = voice_max_bytes

    def mount(self, app: web.Application) -> None:
        app.router.add_get(WEBHOOK_PATH, self._on_verify)
        app.router.add_post(WEBHOOK_PATH, self._on_webhook)
        app.on_cleanup.append(self._close)

    async def _close(self, _: web.Application) -> None:
        await self.close()
        await self.sender.graph.close()

    # -- inbound -----------------------------------------------------------------------------

    async def _on_verify(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("hub.mode") != "subscribe":
            return web.Response(status=403, text="Forbidden")
        if not same_secret(query.get("hub.verify_token", ""), self._verify_token):
            self._metrics.webhook_verification.failed(CHANNEL, "verify_token")
            return web.Response(status=403, text="Forbidden")
        return web.Response(text=query.get("hub.challenge", ""))

    async def _on_webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_matches(body, request.headers.get(SIGNATURE_HEADER, ""), self._app_secret):
            self._metrics.webhook_verification.failed(CHANNEL, "signature")
            return web.Response(status=401, text="Unauthorized")
        try:
            notification = parse_notification(body)
        except MalformedNotification as error:
            log.warning("whatsapp_notification_malformed", error=str(error))
            return web.json_response({"ok": False}, status=400)
        for message in notification.messages:
            await self.work.start(self._message(message))
        for status in notification.statuses:
            await self.work.start(self._status(status))
        return web.json_response({"ok": True})

    async def _message(self, message: IncomingMessage) -> None:
        if not await self._seen.first_seen(
            f"{CHANNEL}:messages", message.message_id, DEDUPE_TTL_SECONDS
        ):
            log.info("whatsapp_message_duplicate", kind=message.kind)
            return
        guest = message.sender
        await self._queue.reachable_again(guest)
        await self._window.guest_wrote(guest)
        await self._graph_call(self.sender.graph.mark_read(message.message_id))
        hint = locale_hint(guest)
        text, payload = message.text, None
        if message.kind == "reply":
            payload = await self._payloads.expand(message.reply_id or "") or UNKNOWN_BUTTON
        elif message.kind == "voice":
            async with self._typing(message.message_id):
                text = await self._transcribed(message, hint)
            if text is None:
                return
        elif text is None or message.kind == "other":
            log.info("whatsapp_message_ignored", kind=message.kind)
            return
        elif (slug := linked_property(text)) is not None:
            text, payload = None, self._deep_link(slug)
        inbound = Inbound(guest, guest, message.message_id, text, payload, locale_hint=hint)
        await self.turn(inbound, self._answer(guest), thinking=self._typing(message.message_id))

    async def _transcribed(self, message: IncomingMessage, hint: str | None) -> str | None:
        """The voice note's text; None when the guest was told why there is none."""

        async def fetch() -> tuple[bytes, str]:
            try:
                return await self.sender.graph.download(
                    message.media_id or "", self._voice_max_bytes
                )
            except MediaTooLarge:
                raise VoiceTooLarge() from None

        async def say(template: str, values: Mapping[str, Any]) -> None:
            await self._say(message.sender, template, hint, values)

        return await heard(self._transcriber, fetch, say, CHANNEL)

    async def _status(self, status: StatusUpdate) -> None:
        code = str(status.error_codes[0]) if status.error_codes else ""
        known = status.status if status.status in STATUSES else "other"  # bounded label values
        self._metrics.provider_statuses.labels(CHANNEL, known, code[:8]).inc()
        if status.status != "failed":
            return
        recipient = status.recipient
        where = pseudonym(f"{CHANNEL}:{recipient}")
        log.warning("whatsapp_message_failed", to=where, codes=list(status.error_codes))
        if OUTSIDE_WINDOW_CODE in status.error_codes:
            sent = await self._sent.take(status.message_id)
            if sent is not None:  # Meta says the window closed: the approved template instead
                await self._window.closed(sent.recipient)
                await self._queue.put(sent.recipient, [Reply("", notice=sent.notice)])
                return
        if UNDELIVERABLE_CODES.intersection(status.error_codes):
            await self._queue.mark_unreachable(recipient)

    # -- helpers -----------------------------------------------------------------------------

    def _answer(self, guest: str) -> Answer:
        async def answer(reply: Reply) -> bool:
            return await self._queue.send_now(guest, reply)

        return answer

    async def _say(
        self, guest: str, template: str, hint: str | None, values: Mapping[str, Any] | None = None
    ) -> None:
        locale = self._renderer.locale_for(hint)
        reply = self._renderer.render(Outcome(template, values or {}), locale, "plain")
        await self._queue.send_now(guest, reply)

    @asynccontextmanager
    async def _typing(self, message_id: str) -> AsyncIterator[None]:
        """ "typing…" only when the work is slow: a fast answer needs none, and each indicator
        is a Graph call."""

        async def show() -> None:
            await asyncio.sleep(TYPING_AFTER_SECONDS)
            while True:
                await self._graph_call(self.sender.graph.mark_read(message_id, typing=True))
                await asyncio.sleep(TYPING_REPEAT_SECONDS)

        task = asyncio.create_task(show())
        try:
            yield
        finally:
            await cancel_and_wait(task)

    @staticmethod
    async def _graph_call(call: Any) -> None:
        """A courtesy call (read receipt, typing): its failure must not cost the answer."""
        try:
            await call
        except (GraphError, ClientError, TimeoutError) as error:
            log.info("whatsapp_courtesy_failed", error=type(error).__name__)


def locale_hint(wa_id: str) -> str | None:
    """The language most likely spoken where the number is from (longest calling code first)."""
    for length in (3, 2, 1):
        locale = LOCALES_BY_CALLING_CODE.get(wa_id[:length])
        if locale is not None:
            return locale
    return None
