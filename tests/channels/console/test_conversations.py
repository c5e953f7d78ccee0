"""The Conversations pages over HTTP on PostgreSQL and Redis: the list and a transcript, a
takeover from the console that the guest's channel receives, a handoff taken in chat that the
console shows (and may not touch), and bad input answered clearly with nothing changed."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp import ClientSession

from actions.handoff.store import HandoffStore
from actions.handoff.transcripts import Said, Transcripts
from bot import Address, Message, Reply
from bot.core.buttons import button_payload
from bot.outbound.proactive import PendingReplies
from channels.console.forms import COOKIE
from tests.support.chat import Chat
from tests.support.clock import NOW
from tests.support.console_server import ConsoleServer, ConsoleSession

GUEST = "guest-7"
ENGLISH = {"Accept-Language": "en"}


class Console:
    """One staff member's browser over HTTP: pages, and forms posted with the session's CSRF
    token from the console's own origin."""

    def __init__(self, server: ConsoleServer, session: ConsoleSession, http: ClientSession):
        self.server, self.session, self.http = server, session, http

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(
            self.server.url + path, headers=ENGLISH, allow_redirects=False
        ) as answer:
            return answer.status, await answer.text()

    async def post(
        self, path: str, csrf: str | None = "", **fields: str
    ) -> tuple[int, str, str | None]:
        data = {**fields}
        if csrf is not None:
            data["csrf"] = csrf or self.session.csrf
        async with self.http.post(
            self.server.url + path,
            data=data,
            headers={"Origin": self.server.url, **ENGLISH},
            allow_redirects=False,
        ) as answer:
            return answer.status, await answer.text(), answer.headers.get("Location")


async def console_of(server: ConsoleServer, email: str, http: ClientSession) -> Console:
    await server.account(email)
    session = await server.session(email)
    http.cookie_jar.update_cookies({COOKIE: session.cookie})
    return Console(server, session, http)


def conversation_number(page: str) -> str:
    found = re.search(r'data-conversation="(\d+)"', page)
    assert found is not None, page
    return found.group(1)


def states(page: str) -> list[str]:
    return re.findall(r'data-state="(\w+)"', page)


async def guest_receives(server: ConsoleServer) -> list[Reply]:
    """What waits for the widget guest's open socket (the shared queue, with Redis)."""
    return await PendingReplies(server.runtime.stores.pending_replies).take(Address("web", GUEST))


async def test_a_takeover_from_the_console_reaches_the_guest_and_goes_back_to_the_bot(
    shared_console_server: ConsoleServer,
) -> None:
    server = shared_console_server
    guest = Chat(server.runtime, "pt-BR", GUEST)
    await guest.says("oi, tem estacionamento?")
    async with ClientSession() as http:
        ana = await console_of(server, "ana@pousada.example", http)
        status, listing = await ana.get("/console/conversations")
        assert status == 200
        number = conversation_number(listing)
        assert ">web<" in listing
        assert ">pt-BR<" in listing
        assert GUEST not in listing  # the guest's chat id never shows: a short stand-in does
        assert states(listing) == ["bot"]

        status, transcript = await ana.get(f"/console/conversations/{number}")
        assert status == 200
        assert "oi, tem estacionamento?" in transcript
        roles = re.findall(r'data-role="(\w+)"', transcript)
        assert roles[0] == "guest"
        assert roles[1:]
        assert set(roles[1:]) == {"bot"}

        status, _, location = await ana.post(f"/console/conversations/{number}/take")
        assert (status, location) == (303, f"/console/conversations/{number}")
        [taken] = await guest_receives(server)
        assert "equipe" in taken.text
        handoff = await HandoffStore(server.runtime.stores.handoffs).of_guest(f"web:{GUEST}")
        assert handoff is not None
        await staff_in_slack(server, payload=button_payload("handoff_take", ticket=handoff.ticket))
        assert (
            await HandoffStore(server.runtime.stores.handoffs).of_guest(f"web:{GUEST}") == handoff
        )
        assert await guest.says("vocês aceitam cachorro?") == ""  # the bot keeps quiet

        _, transcript = await ana.get(f"/console/conversations/{number}")
        assert states(transcript) == ["taken"]
        assert "taken over by you" in transcript
        assert "vocês aceitam cachorro?" in transcript

        status, _, _ = await ana.post(
            f"/console/conversations/{number}/send", text="  Aceitamos sim, até 10 kg.  "
        )
        assert status == 303
        [answer] = await guest_receives(server)
        assert "Aceitamos sim, até 10 kg." in answer.text
        _, transcript = await ana.get(f"/console/conversations/{number}")
        assert re.search(r'data-role="staff".*?Team \(ana@pousada\.example\)', transcript, re.S)

        status, _, _ = await ana.post(f"/console/conversations/{number}/hand-back")
        assert status == 303
        [back] = await guest_receives(server)
        assert "assistente virtual" in back.text
        assert await guest.says("obrigado!") != ""  # the bot answers again
        _, listing = await ana.get("/console/conversations")
        assert states(listing) == ["bot"]

    audit = [(line.action, line.details) for line in await server.directory.audit_log()]
    assert ("conversation_taken", {}) in audit
    assert ("conversation_message_sent", {"chars": len("Aceitamos sim, até 10 kg.")}) in audit
    assert ("conversation_handed_back", {}) in audit


async def test_a_handoff_taken_in_chat_shows_in_the_console_which_may_not_touch_it(
    shared_console_server: ConsoleServer,
) -> None:
    server = shared_console_server
    guest = Chat(server.runtime, "pt-BR", GUEST)
    await guest.says("quero falar com uma pessoa")
    async with ClientSession() as http:
        ana = await console_of(server, "ana@pousada.example", http)
        _, listing = await ana.get("/console/conversations")
        number = conversation_number(listing)
        assert states(listing) == ["waiting"]

        handoff = await HandoffStore(server.runtime.stores.handoffs).of_guest(f"web:{GUEST}")
        assert handoff is not None
        take = button_payload("handoff_take", ticket=handoff.ticket)
        await staff_in_slack(server, payload=take)
        _, listing = await ana.get("/console/conversations")
        assert states(listing) == ["taken"]
        assert "taken over by slack:U0BEA" in listing

        status, page, _ = await ana.post(f"/console/conversations/{number}/take")
        assert status == 409
        assert 'data-problem="taken"' in page
        assert "slack:U0BEA has already taken" in page
        status, page, _ = await ana.post(f"/console/conversations/{number}/send", text="Oi")
        assert (status, 'data-problem="not_held"' in page) == (409, True)

        await guest_receives(server)  # "a person is with you now"
        await staff_in_slack(server, text="Oi, aqui é a Bea.")
        [relayed] = await guest_receives(server)
        assert "Oi, aqui é a Bea." in relayed.text
        _, transcript = await ana.get(f"/console/conversations/{number}")
        assert "Team (slack:U0BEA)" in transcript
        assert "Oi, aqui é a Bea." in transcript

        release = button_payload("handoff_release", ticket=handoff.ticket)
        await staff_in_slack(server, payload=release)
        _, listing = await ana.get("/console/conversations")
        assert states(listing) == ["bot"]
    actions = [line.action for line in await server.directory.audit_log()]
    assert not [action for action in actions if action.startswith("conversation_")]


async def staff_in_slack(
    server: ConsoleServer, *, text: str | None = None, payload: str | None = None
) -> None:
    message = Message(
        "slack", "DBEA", "U0BEA", text=text, payload=payload, locale_hint="pt-BR", role="staff"
    )
    result = await server.runtime.engine.handle(message)
    assert result.status == "handled", result


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    shared_console_server: ConsoleServer,
) -> None:
    server = shared_console_server
    guest = Chat(server.runtime, "pt-BR", GUEST)
    await guest.says("oi")
    async with ClientSession() as http:
        ana = await console_of(server, "ana@pousada.example", http)
        number = conversation_number((await ana.get("/console/conversations"))[1])
        base = f"/console/conversations/{number}"

        for path in ("/console/conversations/999999", "/console/conversations/x1", base + "0"):
            status, page = await ana.get(path)
            assert (status, 'data-testid="missing"' in page) == (404, True), path
        status, page, _ = await ana.post("/console/conversations/999999/take")
        assert (status, 'data-testid="missing"' in page) == (404, True)
        for page_number in ("0", "x", "-1", "123456", "1e3"):
            status, page = await ana.get(f"/console/conversations?page={page_number}")
            assert (status, 'data-problem="page"' in page) == (400, True), page_number

        await server.runtime.services.get(Transcripts).record(
            "rest", "script-1", [Said("guest", "oi")], locale="pt_BR"
        )
        rest = conversation_number((await ana.get("/console/conversations"))[1])
        status, page, _ = await ana.post(f"/console/conversations/{rest}/take")
        assert (status, 'data-problem="unreachable"' in page) == (409, True)
        assert states(page) == ["bot"]  # REST answers requests: nothing could reach the guest

        status, _, _ = await ana.post(base + "/take")
        assert status == 303
        await guest_receives(server)
        for text, problem in (("", "empty"), ("   \n ", "empty"), ("x" * 2001, "too_long")):
            status, page, _ = await ana.post(base + "/send", text=text)
            assert (status, f'data-problem="{problem}"' in page) == (400, True), problem
        status, page, _ = await ana.post(base + "/send", csrf=None, text="sem token")
        assert (status, 'data-testid="refused"' in page) == (403, True)
        status, page, _ = await ana.post(base + "/hand-back", csrf="f" * 43)
        assert status == 403

        assert await guest_receives(server) == []
        _, after = await ana.get(base)
        assert 'data-role="staff"' not in after
        assert states(after) == ["taken"]
        assert "taken over by you" in after
    actions = [line.action for line in await server.directory.audit_log()]
    assert actions.count("csrf_refused") == 2
    assert "conversation_message_sent" not in actions
    assert "conversation_handed_back" not in actions


async def test_the_list_is_paged_the_latest_first_and_sent_live(
    shared_console_server: ConsoleServer,
) -> None:
    server = shared_console_server
    transcripts = server.runtime.services.get(Transcripts)
    for number in range(26):
        await transcripts.record(
            "telegram",
            f"chat-{number}",
            [Said("guest", f"message {number}")],
            locale="es",
            at=NOW + timedelta(minutes=number),
        )
    async with ClientSession() as http:
        ana = await console_of(server, "ana@pousada.example", http)
        _, first = await ana.get("/console/conversations")
        previews = re.findall(r"message (\d+)", first)
        assert previews == [str(n) for n in range(25, 0, -1)]
        assert 'href="/console/conversations?page=2" rel="next"' in first
        _, second = await ana.get("/console/conversations?page=2")
        assert re.findall(r"message (\d+)", second) == ["0"]
        assert 'rel="prev"' in second
        assert 'rel="next"' not in second

        later = NOW + timedelta(hours=1)
        await transcripts.record("telegram", "chat-0", [Said("guest", "message again")], at=later)
        async with http.get(
            server.url + "/console/conversations/stream",
            headers={"Accept": "text/event-stream"},
        ) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            event = (await stream.content.readuntil(b"\n\n")).decode()
        assert event.startswith("event: conversations\n")
        assert event.index("message again") < event.index("message 25")
