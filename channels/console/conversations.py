"""The console's Conversations pages: the guest conversations (live), one conversation's
transcript (live), and taking it over: a staff member writes to the guest from the browser and
hands the conversation back to the bot.

The conversations and the handoff are the business's (``Conversations``, passed in by the
composition root); this room reads the browser's input, answers bad input with the page and a
clear problem (nothing changes), and audits every takeover, message and hand-back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from aiohttp import web

from bot.core.text import clean, is_scalar_text
from channels.console.access import (
    Access,
    Audit,
    Handler,
    StaffMember,
    StaffSession,
    read_form,
)
from channels.console.pages import HEADERS, PageRender

MAX_MESSAGE_CHARS = 2000
MAX_ID_DIGITS = 12
Problem = Literal["unknown", "taken", "not_held", "unreachable", "empty", "too_long"]


class Refused(Exception):
    """The business refused: ``problem`` says why; ``holder`` who holds the conversation."""

    def __init__(self, problem: Problem, holder: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.holder = holder


class Conversations(Protocol):
    """The guest conversations as template values; every method raises ``Refused``."""

    async def page(self, number: int, viewer: StaffMember) -> Mapping[str, Any]: ...
    async def transcript(self, conversation: int, viewer: StaffMember) -> Mapping[str, Any]: ...
    async def take(self, conversation: int, viewer: StaffMember) -> None: ...
    async def say(self, conversation: int, viewer: StaffMember, text: str) -> None: ...
    async def hand_back(self, conversation: int, viewer: StaffMember) -> None: ...


STATUS: dict[Problem, int] = {
    "unknown": 404,
    "taken": 409,
    "not_held": 409,
    "unreachable": 409,
    "empty": 400,
    "too_long": 400,
}
BASE = "/console/conversations"


class ConversationsRoom:
    def __init__(self, conversations: Conversations, audit: Audit) -> None:
        self._conversations = conversations
        self._audit = audit

    def routes(self, page: PageRender) -> list[tuple[str, str, Handler, Access]]:
        return _ConversationPages(page, self._conversations, self._audit).routes()


class _ConversationPages:
    """The room's handlers, rendering with the console's ``page``."""

    def __init__(self, page: PageRender, conversations: Conversations, audit: Audit) -> None:
        self._console = page
        self._conversations = conversations
        self._audit = audit

    def routes(self) -> list[tuple[str, str, Handler, Access]]:
        return [
            ("GET", BASE, self._list, "staff"),
            ("GET", f"{BASE}/stream", self._list_stream, "staff"),
            ("GET", f"{BASE}/{{conversation}}", self._transcript, "staff"),
            ("GET", f"{BASE}/{{conversation}}/stream", self._transcript_stream, "staff"),
            ("POST", f"{BASE}/{{conversation}}/take", self._take, "staff"),
            ("POST", f"{BASE}/{{conversation}}/send", self._send, "staff"),
            ("POST", f"{BASE}/{{conversation}}/hand-back", self._hand_back, "staff"),
        ]

    # -- the list --

    async def _list(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        number = page_number(request.query.get("page"))
        if number is None:
            return self._console.render(request, signed, "conversations", {"problem": "page"}, 400)
        values = await self._conversations.page(number, signed.account)
        live = {"live_seconds": self._console.live_seconds}
        return self._console.render(request, signed, "conversations", {**values, **live})

    async def _list_stream(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        number = page_number(request.query.get("page"))
        if number is None:
            raise web.HTTPBadRequest(headers=HEADERS)

        async def rows(locale: str) -> str:
            values = await self._conversations.page(number, signed.account)
            return self._console.fragment("conversation_rows", values, locale)

        return await self._console.stream(request, signed, "conversations", rows)

    # -- one conversation --

    async def _transcript(
        self,
        request: web.Request,
        signed: StaffSession,
        status: int = 200,
        **values: Any,
    ) -> web.StreamResponse:
        conversation = conversation_id(request.match_info["conversation"])
        try:
            if conversation is None:
                raise Refused("unknown")
            found = await self._conversations.transcript(conversation, signed.account)
        except Refused as refused:
            return self._missing(request, signed, refused)
        live = {"live_seconds": self._console.live_seconds, "max_chars": MAX_MESSAGE_CHARS}
        return self._console.render(
            request, signed, "conversation", {**found, **live, **values}, status
        )

    async def _transcript_stream(
        self, request: web.Request, signed: StaffSession
    ) -> web.StreamResponse:
        conversation = conversation_id(request.match_info["conversation"])
        if conversation is None:
            raise web.HTTPNotFound(headers=HEADERS)
        try:
            await self._conversations.transcript(conversation, signed.account)
        except Refused as refused:
            raise web.HTTPNotFound(headers=HEADERS) from refused

        async def lines(locale: str) -> str:
            try:
                values = await self._conversations.transcript(conversation, signed.account)
            except Refused:  # erased meanwhile: the page says so on its next load
                values = {"gone": True}
            return self._console.fragment("conversation_lines", values, locale)

        return await self._console.stream(request, signed, "transcript", lines)

    async def _take(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        return await self._act(request, signed, "conversation_taken")

    async def _hand_back(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        return await self._act(request, signed, "conversation_handed_back")

    async def _send(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        form = await read_form(request) or {}
        text, problem = message_text(form.get("text"))
        if text is None:
            return await self._refused(request, signed, Refused(problem or "empty"))
        return await self._act(request, signed, "conversation_message_sent", text)

    async def _act(
        self, request: web.Request, signed: StaffSession, action: str, text: str | None = None
    ) -> web.StreamResponse:
        """Take over, write (``text``) or hand back; audited; back to the transcript."""
        conversation = conversation_id(request.match_info["conversation"])
        viewer = signed.account
        try:
            if conversation is None:
                raise Refused("unknown")
            if action == "conversation_taken":
                await self._conversations.take(conversation, viewer)
            elif text is not None:
                await self._conversations.say(conversation, viewer, text)
            else:
                await self._conversations.hand_back(conversation, viewer)
        except Refused as refused:
            return await self._refused(request, signed, refused)
        details = {"chars": len(text)} if text is not None else {}
        await self._audit(
            viewer.email, action, f"conversation {conversation}", request.remote, **details
        )
        raise web.HTTPSeeOther(f"{BASE}/{conversation}", headers=HEADERS)

    async def _refused(
        self, request: web.Request, signed: StaffSession, refused: Refused
    ) -> web.StreamResponse:
        if refused.problem == "unknown":
            return self._missing(request, signed, refused)
        return await self._transcript(
            request,
            signed,
            STATUS[refused.problem],
            problem=refused.problem,
            holder=refused.holder,
        )

    def _missing(
        self, request: web.Request, signed: StaffSession, refused: Refused
    ) -> web.StreamResponse:
        return self._console.render(
            request, signed, "conversation_missing", {}, STATUS[refused.problem]
        )


def page_number(raw: str | None) -> int | None:
    """A list page from the query (absent: the first); None when it is not a number from 1."""
    if raw is None:
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 5 or int(raw) < 1:
        return None
    return int(raw)


def conversation_id(raw: str) -> int | None:
    """A conversation's number from the path; None for anything else."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_ID_DIGITS:
        return None
    return int(raw)


def message_text(raw: object) -> tuple[str | None, Problem | None]:
    """What a staff member writes to a guest, trimmed: (the text, None), or (None, why not)."""
    if not isinstance(raw, str):
        return None, "empty"
    if len(raw) > MAX_MESSAGE_CHARS:
        return None, "too_long"
    if not is_scalar_text(raw):
        return None, "empty"
    text = clean(raw).strip()
    return (text, None) if text else (None, "empty")
