"""Slack, the team's channel: Events API (mentions, direct messages), the ``/rsv`` command and
Block Kit buttons, mounted at ``/slack/events`` with Slack's request signature verified.

Every listener acknowledges first (Slack wants an answer within 3 s and retries otherwise) and
works after. Slack re-sends events it thinks were lost and may send one message as two events
(``message.im`` and ``app_mention``): an event id is handled once, and so is a channel's ``ts``.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.core.engine import Engine
from bot.core.observability import WebhookVerification
from bot.core.render import Renderer
from bot.core.roles import RoleBook
from bot.core.types import Reply
from bot.edge.json_body import MalformedJson, json_object
from bot.outbound.delivery import Outbox
from bot.steps.dedupe import DedupeStore
from channels.background import MAX_IN_FLIGHT
from channels.provider import Answer, Inbound, ProviderChannel
from channels.slack.outbound import SlackSender, blocks_of, fallback_text

CHANNEL = "slack"
EVENTS_PATH = "/slack/events"
COMMAND = "/rsv"
MENTION = re.compile(r"<@[A-Z0-9]+>")
LOOKUP_TTL_SECONDS = 300.0
DEDUPE_TTL_SECONDS = 3600

log = structlog.get_logger("rsv360.slack")


class SlackChannel(ProviderChannel):
    def __init__(
        self,
        engine: Engine[Any],
        renderer: Renderer,
        sender: SlackSender,
        queue: Outbox[Reply],
        roles: RoleBook,
        seen: DedupeStore,
        *,
        signing_secret: str,
        verification: WebhookVerification,
        max_text_chars: int,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        super().__init__(CHANNEL, engine, renderer, roles, queue, max_text_chars, max_in_flight)
        self._sender = sender
        self._seen = seen
        self._people = _Directory(sender)
        self._verifier = SignatureVerifier(signing_secret)
        self._verification = verification
        verification.watch(CHANNEL, "signature")
        self.app = AsyncApp(client=sender.client, signing_secret=signing_secret)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.command(COMMAND)(self._on_command)
        self.app.action(re.compile(r"^rsv_\d+$"))(self._on_button)
        self.app.error(self._on_error)

    def mount(self, app: web.Application) -> None:
        app.router.add_post(EVENTS_PATH, self._handle)
        app.on_shutdown.append(self._finish)

    async def _finish(self, _: web.Application) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        if not self._verifier.is_valid_request(body, dict(request.headers)):
            log.warning("slack_signature_refused")
            self._verification.failed(CHANNEL, "signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            if not _an_object(body, request.content_type):
                raise ValueError("not an object")
            bolt_request = await to_bolt_request(request)
        except ValueError:
            log.warning("slack_request_malformed")
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    # -- listeners: acknowledge, then work in the background -----------------------------------

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any], ack: Any) -> None:
        await ack()
        await self.work.start(self._event(event, body))

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], ack: Any) -> None:
        await ack()
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return  # edits, joins, the bot's own messages; channel messages come as mentions
        await self.work.start(self._event(event, body))

    async def _on_command(self, command: dict[str, Any], ack: Any, respond: AsyncRespond) -> None:
        await ack()
        await self.work.start(self._command(command, respond))

    async def _on_button(self, body: dict[str, Any], action: dict[str, Any], ack: Any) -> None:
        await ack()
        await self.work.start(self._button(body, action))

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("slack_listener_failed", error=type(error).__name__)

    # -- work ------------------------------------------------------------------------------------

    async def _event(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
        text = MENTION.sub("", str(event.get("text") or "")).strip()
        if not (isinstance(channel, str) and isinstance(user, str) and isinstance(ts, str)):
            log.info("slack_event_ignored", kind=event.get("type"))
            return
        event_id = str(body.get("event_id") or ts)
        if not await self._seen.first_seen("slack:events", event_id, DEDUPE_TTL_SECONDS):
            log.info("slack_event_duplicate", kind=event.get("type"))
            return
        if not text:
            log.info("slack_event_ignored", kind="empty")
            return
        thread = event.get("thread_ts")
        await self._turn(channel, user, ts, text=text, reply=self._poster(channel, thread))

    async def _command(self, command: dict[str, Any], respond: AsyncRespond) -> None:
        channel, user = command.get("channel_id"), command.get("user_id")
        if not (isinstance(channel, str) and isinstance(user, str)):
            log.info("slack_event_ignored", kind="command")
            return
        text = str(command.get("text") or "").strip() or "help"

        async def answer(reply: Reply) -> bool:
            await respond(text=fallback_text(reply), blocks=blocks_of(reply))
            return True

        await self._turn(channel, user, str(command.get("trigger_id")), text=text, reply=answer)

    async def _button(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        payload = action.get("value")
        if not (isinstance(channel, str) and isinstance(user, str) and isinstance(payload, str)):
            log.info("slack_event_ignored", kind="block_actions")
            return
        thread = (body.get("message") or {}).get("thread_ts")
        action_id = f"{action.get('action_ts')}:{action.get('action_id')}"
        poster = self._poster(channel, thread)
        await self._turn(channel, user, action_id, payload=payload, reply=poster)

    def _poster(self, channel: str, thread: str | None) -> Answer:
        async def post(reply: Reply) -> bool:
            await self._sender.send(channel, reply, thread)
            return True

        return post

    async def _turn(
        self,
        channel: str,
        user: str,
        update_id: str,
        *,
        reply: Answer,
        text: str | None = None,
        payload: str | None = None,
    ) -> None:
        locale, groups = await self._people.locale_of(user), await self._people.groups_of(user)
        inbound = Inbound(
            channel, user, update_id, text, payload, locale_hint=locale, groups=tuple(groups)
        )
        await self.turn(inbound, reply)


class _Directory:
    """Users' locales (users.info) and user groups (usergroups.list), looked up on demand and
    kept a few minutes; a workspace that does not grant the scope just gives none."""

    def __init__(self, sender: SlackSender) -> None:
        self._client = sender.client
        self._locales: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._groups: tuple[dict[str, frozenset[str]], float] | None = None

    async def locale_of(self, user: str) -> str | None:
        cached = self._locales.get(user)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        locale = None
        try:
            found = await self._client.users_info(user=user, include_locale=True)
            locale = (found.get("user") or {}).get("locale")
        except SlackApiError as error:
            log.warning("slack_lookup_failed", call="users.info", error=error.response.get("error"))
        self._locales[user] = (locale, time.monotonic() + LOOKUP_TTL_SECONDS)
        while len(self._locales) > 10_000:
            self._locales.popitem(last=False)
        return locale

    async def groups_of(self, user: str) -> list[str]:
        if self._groups is None or self._groups[1] <= time.monotonic():
            members: dict[str, frozenset[str]] = {}
            try:
                found = await self._client.usergroups_list(include_users=True)
                for group in found.get("usergroups") or []:
                    members[group["id"]] = frozenset(group.get("users") or ())
            except SlackApiError as error:
                log.warning(
                    "slack_lookup_failed", call="usergroups.list", error=error.response.get("error")
                )
            self._groups = (members, time.monotonic() + LOOKUP_TTL_SECONDS)
        return [group for group, users in self._groups[0].items() if user in users]


def _an_object(body: str, content_type: str) -> bool:
    """Whether slack-bolt will read ``body`` as it assumes: a JSON object, or a form whose
    ``payload`` (when it has one) is a JSON object. It fails on anything else (a 500)."""
    if not body:
        return True
    if content_type == "application/json" or body.startswith("{"):
        raw: str | None = body
    else:
        form = dict(parse_qsl(body, keep_blank_values=True)) if "payload" in body else {}
        raw = form.get("payload")
    if raw is None:
        return True
    try:
        json_object(raw)
    except MalformedJson:
        return False
    return True
