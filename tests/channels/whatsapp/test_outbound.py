"""A reply as Cloud API messages, sent by the real sender to the local Graph API, which refuses
what Meta refuses (titles over 20 characters, more than 3 buttons or 10 rows, a body over
1024 characters in an interactive message)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestServer

from bot.core.locales import SUPPORTED_LOCALES
from bot.core.payloads import PayloadStore
from bot.core.types import Button, Notice, Reply
from bot.outbound.delivery import RetryLater, Unreachable
from bot.root.providers import notice_exists
from bot.stores.memory import MemoryMediaStore, MemoryValueStore
from channels.whatsapp.graph import GraphApi, GraphError
from channels.whatsapp.outbound import WhatsAppSender
from channels.whatsapp.settings import TEMPLATES_FILE
from channels.whatsapp.templates import Templates
from channels.whatsapp.window import ConversationWindow, SentNotices
from tests.fakes import whatsapp as meta
from tests.fakes.whatsapp import FakeGraph

GUEST = "5511912345678"


@dataclass
class Line:
    graph: FakeGraph
    sender: WhatsAppSender
    payloads: PayloadStore
    window: ConversationWindow


@pytest.fixture
async def line() -> AsyncIterator[Line]:
    graph = FakeGraph()
    server = TestServer(graph.app())
    await server.start_server()
    api = GraphApi(
        f"{str(server.make_url('')).rstrip('/')}/{meta.VERSION}",
        meta.PHONE_NUMBER_ID,
        meta.ACCESS_TOKEN,
        5.0,
    )
    values = MemoryValueStore()
    window = ConversationWindow(values)
    await window.guest_wrote(GUEST)
    payloads = PayloadStore(values)
    templates = Templates.load(TEMPLATES_FILE, SUPPORTED_LOCALES, notice_exists)
    labels = {"pt_BR": "Ver opções", "en": "See options", "es": "Ver opciones"}
    sender = WhatsAppSender(
        api,
        payloads,
        MemoryMediaStore(),
        templates,
        window,
        SentNotices(values),
        labels.__getitem__,
        "pt_BR",
    )
    yield Line(graph, sender, payloads, window)
    await api.close()
    await server.close()


async def test_a_long_text_is_split_at_4096_characters_at_a_paragraph(line: Line) -> None:
    text = ("palavra " * 400).strip() + "\n\n" + ("outra " * 400).strip()
    await line.sender.send(GUEST, Reply(text))
    parts = line.graph.sent(GUEST)
    assert len(parts) == 2
    assert all(len(part.text) <= 4096 for part in parts)
    assert parts[1].text.startswith("outra")


async def test_three_short_choices_are_reply_buttons(line: Line) -> None:
    choices = tuple(Button(title, payload=f"intent:{n}") for n, title in enumerate("ABC"))
    await line.sender.send(GUEST, Reply("Escolha", choices))
    [message] = line.graph.sent(GUEST)
    assert message.document["interactive"]["type"] == "button"
    assert [c["title"] for c in message.choices] == ["A", "B", "C"]


async def test_a_long_title_goes_in_a_list_with_the_whole_title_in_its_description(
    line: Line,
) -> None:
    title = "Quarto Vista Mar com varanda"
    await line.sender.send(GUEST, Reply("Qual quarto?", (Button(title, payload="form:value:2"),)))
    [message] = line.graph.sent(GUEST)
    assert message.document["interactive"]["type"] == "list"
    assert message.document["interactive"]["action"]["button"] == "Ver opções"
    [row] = message.choices
    assert row == {"id": "form:value:2", "title": "Quarto Vista Mar com…", "description": title}


async def test_twelve_choices_are_two_lists_of_at_most_ten_rows(line: Line) -> None:
    choices = tuple(Button(f"Opção {n}", payload=f"form:value:{n}") for n in range(12))
    await line.sender.send(GUEST, Reply("Escolha uma data", choices))
    lists = line.graph.sent(GUEST)
    assert [len(message.choices) for message in lists] == [10, 2]
    assert lists[0].text == "Escolha uma data"


async def test_a_long_payload_travels_as_a_short_key(line: Line) -> None:
    payload = "intent:refund_approve|id=" + "9" * 300
    await line.sender.send(GUEST, Reply("Aprovar?", (Button("Aprovar", payload=payload),)))
    [button] = line.graph.sent(GUEST)[0].choices
    assert len(button["id"]) <= 200
    assert await line.payloads.expand(button["id"]) == payload


async def test_a_long_text_with_buttons_keeps_the_body_within_1024(line: Line) -> None:
    text = " ".join(["frase longa."] * 200)
    await line.sender.send(GUEST, Reply(text, (Button("Sim", payload="intent:yes"),)))
    *leading, buttons = line.graph.sent(GUEST)
    assert [message.kind for message in leading] == ["text"] * len(leading)
    assert len(buttons.text) <= 1024
    assert " ".join(m.text for m in [*leading, buttons]).split() == text.split()


async def test_a_payment_link_is_a_call_to_action_button_after_the_choices(line: Line) -> None:
    buttons = (
        Button("Abrir a página de pagamento", url="https://pay.example/1"),
        Button("Cancelar", payload="intent:cancel"),
    )
    await line.sender.send(GUEST, Reply("Seu link de pagamento", buttons))
    choices, link = line.graph.sent(GUEST)
    assert choices.text == "Seu link de pagamento"
    assert link.document["interactive"]["action"]["parameters"] == {
        "display_text": "Abrir a página de…",
        "url": "https://pay.example/1",
    }


async def test_refusals_become_delivery_outcomes(line: Line) -> None:
    line.graph.fail(429, 130429)
    with pytest.raises(RetryLater):
        await line.sender.send(GUEST, Reply("oi"))
    line.graph.fail(400, 131048)
    with pytest.raises(RetryLater):
        await line.sender.send(GUEST, Reply("oi"))
    line.graph.blocked.add(GUEST)
    with pytest.raises(Unreachable):
        await line.sender.send(GUEST, Reply("oi"))
    line.graph.blocked.clear()
    line.graph.fail(400, 131009)
    with pytest.raises(GraphError):
        await line.sender.send(GUEST, Reply("oi"))
    assert line.graph.sent(GUEST) == []


async def test_a_notice_refused_as_outside_the_window_goes_as_its_template_at_once(
    line: Line,
) -> None:
    line.graph.fail(400, 131047)
    notice = Notice("booking/hold_expired", {"code": "RSV-Q1W2E3"}, "en")
    await line.sender.send(GUEST, Reply("The hold of RSV-Q1W2E3 has expired.", notice=notice))
    [template] = line.graph.sent(GUEST)
    assert template.document["template"]["name"] == "rsv_hold_expired"
    assert template.document["template"]["language"] == {"code": "en_US"}
    assert not await line.window.is_open(GUEST), "and the window is known closed from now on"
    await line.window.guest_wrote(GUEST)
    line.graph.fail(400, 131047)
    thanks = Notice("smalltalk/thanks", {}, "en")
    with pytest.raises(Unreachable):  # a reply without a template cannot reach the guest
        await line.sender.send(GUEST, Reply("You're welcome", notice=thanks))
    assert line.graph.sent(GUEST) == [template]


async def test_the_hold_running_out_goes_as_its_template_with_the_minutes_left(
    line: Line,
) -> None:
    line.graph.fail(400, 131047)
    notice = Notice("booking/hold_expiring", {"code": "RSV-Q1W2E3", "minutes_left": 4}, "pt_BR")
    await line.sender.send(GUEST, Reply("A reserva RSV-Q1W2E3 …", notice=notice))
    [template] = line.graph.sent(GUEST)
    assert template.document["template"]["name"] == "rsv_hold_expiring"
    assert template.document["template"]["language"] == {"code": "pt_BR"}
    assert template.document["template"]["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "RSV-Q1W2E3"}, {"type": "text", "text": "4"}],
        }
    ]
