"""The website widget in a real headless Chromium against the real app on a loopback port."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_skeleton
from itsdangerous import URLSafeTimedSerializer
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    WebSocketRoute,
    expect,
)

from tests.support.stays import minimum_stay, new_year_stay, today
from tests.support.widget_page import TIMEOUT_MS, messages, say

pytestmark = pytest.mark.browser

WIDGET_SECRET = "test-widget-secret"  # what make_settings in conftest.py configures
TOKEN_KEY = "rsv360.token"
SCREENSHOT = Path("/tmp/widget.png")
expect.set_options(timeout=TIMEOUT_MS)

GREETING_PT = re.compile(r"^\s*(Olá!|Oi,)")
GREETING_EN = re.compile(r"^\s*(Hello!|Hi,)")
MENU_PT = ["Reservar", "Dúvidas", "Minhas reservas", "Falar com uma pessoa"]


NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(browser: Browser, base_url: str) -> AsyncIterator[NewPage]:
    """Pages in fresh browser contexts (pt-BR unless told), all closed before the server stops."""
    contexts: list[BrowserContext] = []

    async def make(
        *, welcome: bool = False, lang: str | None = None, **context_options: Any
    ) -> Page:
        context = await browser.new_context(**{"locale": "pt-BR", **context_options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        await context.route(f"{base_url}/", partial(_demo_page, welcome=welcome, lang=lang))
        return await context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()


async def _demo_page(route: Route, *, welcome: bool, lang: str | None) -> None:
    """The demo page, greeting on open only when the test asks (the widget's other behaviours
    are tested without a greeting), in another language when told."""
    response = await route.fetch()
    html = await response.text()
    if not welcome:
        html = html.replace(' data-rsv-welcome="pousada-do-mar"', "")
    if lang is not None:
        html = html.replace('<html lang="pt-BR">', f'<html lang="{lang}">')
    await route.fulfill(response=response, body=html)


async def open_demo(new_page: NewPage, base_url: str, **context_options: Any) -> Page:
    page = await new_page(**context_options)
    await page.goto(f"{base_url}/")
    await expect(page.get_by_test_id("rsv-panel")).to_be_visible()
    return page


async def stored_token(page: Page) -> str:
    token = await page.evaluate("key => localStorage.getItem(key)", TOKEN_KEY)
    assert isinstance(token, str), "the widget did not keep the session token"
    return token


def conversation_of(token: str) -> str:
    claims = URLSafeTimedSerializer(WIDGET_SECRET, salt="rsv360-widget").loads(token)
    return str(claims["c"])


async def test_guest_greets_clicks_a_button_and_resumes_after_reload(
    new_page: NewPage, base_url: str
) -> None:
    page = await open_demo(new_page, base_url, reduced_motion="reduce")  # a still screenshot
    bot = messages(page, "bot")

    await say(page, "oi")
    await expect(messages(page, "guest")).to_have_text(["oi"])
    await expect(bot).to_have_count(1)
    await expect(bot.first).to_have_text(GREETING_PT)
    greeting = await bot.first.text_content()
    assert greeting
    await expect(bot.first.get_by_test_id("rsv-button")).to_have_text(MENU_PT)
    await expect(page.get_by_test_id("rsv-typing")).to_be_hidden()

    await bot.first.get_by_role("button", name="Dúvidas").click()
    await expect(messages(page, "guest")).to_have_text(["oi", "Dúvidas"])
    await expect(bot).to_have_count(2)
    await expect(bot.nth(1)).to_have_text(re.compile(r"\S"))
    # The menu is answered: its quick replies are gone from the first bot message.
    await expect(bot.first.get_by_test_id("rsv-button")).to_have_count(0)

    before = await messages(page).all_inner_texts()
    token = await stored_token(page)

    await page.reload()
    await expect(messages(page)).to_have_count(len(before))
    assert await messages(page).all_inner_texts() == before

    await say(page, "obrigado")
    await expect(bot).to_have_count(3)
    await expect(bot.nth(2)).to_have_text(re.compile(r"^\s*De nada!"))
    assert conversation_of(await stored_token(page)) == conversation_of(token)

    # The A/B greeting variant is sticky per conversation: the same one again.
    await say(page, "oi")
    await expect(bot).to_have_count(4)
    await expect(bot.nth(3)).to_have_text(greeting)
    await expect(messages(page)).to_have_count(len(before) + 4)

    await expect(messages(page, "guest").last).not_to_have_attribute("data-pending", "")
    await page.screenshot(path=str(SCREENSHOT))


async def test_an_english_page_gets_english_replies(new_page: NewPage, base_url: str) -> None:
    page = await open_demo(new_page, base_url, lang="en", locale="pt-BR")
    await expect(page.get_by_test_id("rsv-input")).to_have_attribute(
        "placeholder", "Type your message…"
    )

    await say(page, "hello")
    await expect(messages(page, "bot")).to_have_count(1)
    await expect(messages(page, "bot").first).to_have_text(GREETING_EN)
    await expect(messages(page, "bot").first.get_by_test_id("rsv-button").first).to_have_text(
        "Book a stay"
    )


async def test_guest_text_is_shown_literally(new_page: NewPage, base_url: str) -> None:
    page = await open_demo(new_page, base_url)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    attack = "<img src=x onerror=alert(1)>"

    await page.get_by_test_id("rsv-input").fill(attack)
    await page.get_by_test_id("rsv-send").click()
    await expect(messages(page, "guest")).to_have_text([attack])
    await expect(messages(page, "bot")).to_have_count(1)  # the round trip is over
    await expect(page.get_by_test_id("rsv-messages").locator("img")).to_have_count(0)

    # The transcript restored from storage after a reload is text as well.
    await page.reload()
    await expect(messages(page, "guest")).to_have_text([attack])
    await expect(page.get_by_test_id("rsv-messages").locator("img")).to_have_count(0)
    await say(page, "oi")
    await expect(messages(page, "bot")).to_have_count(2)
    assert dialogs == []


async def test_messages_typed_while_disconnected_are_sent_after_reconnecting(
    new_page: NewPage, base_url: str
) -> None:
    """The socket drops; the widget reconnects, resumes the conversation and sends the queue."""
    page = await new_page()
    relays = await route_widget_socket(page)
    await page.goto(f"{base_url}/")
    first = await relays.nth(0)
    first.connect()
    await say(page, "oi")
    await expect(messages(page, "bot")).to_have_count(1)
    token = await stored_token(page)

    await first.close()  # the server goes away
    await expect(page.get_by_test_id("rsv-panel")).to_contain_text("Conectando…")
    await say(page, "obrigado")
    await expect(messages(page, "guest").last).to_have_attribute("data-pending", "")
    second = await relays.nth(1)  # it reconnects by itself: a socket nobody answers yet
    await expect(messages(page, "bot")).to_have_count(1)

    second.connect()  # the server is back
    await expect(messages(page, "bot")).to_have_count(2)
    await expect(messages(page, "bot").last).to_have_text(re.compile(r"^\s*De nada!"))
    await expect(messages(page, "guest").last).not_to_have_attribute("data-pending", "")
    await expect(page.get_by_test_id("rsv-panel")).to_contain_text("Online")
    assert [frame["type"] for frame in second.sent] == ["hello", "message"]
    assert conversation_of(second.sent[0]["token"]) == conversation_of(token)
    assert second.sent[1]["text"] == "obrigado"
    assert len(relays) == 2
    assert conversation_of(await stored_token(page)) == conversation_of(token)


class Relay:
    """One routed widget socket to the real server.

    Until ``connect`` the page's frames are held (the server seems down); with ``hold_replies``
    the server's ``message`` frames wait for ``release_replies``.
    """

    def __init__(self, socket: WebSocketRoute, *, hold_replies: bool = False) -> None:
        self.socket = socket
        self.server: WebSocketRoute | None = None
        self.sent: list[dict[str, Any]] = []
        self.hold_replies = hold_replies
        self._held: list[str | bytes] = []
        self._held_replies: list[str | bytes] = []
        self._reply_held = asyncio.Event()
        socket.on_message(self._from_page)

    def _from_page(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.sent.append(json.loads(message))
        if self.server is None:
            self._held.append(message)
        else:
            self.server.send(message)

    def _from_server(self, message: str | bytes) -> None:
        if self.hold_replies and json.loads(message).get("type") == "message":
            self._held_replies.append(message)
            self._reply_held.set()
        else:
            self.socket.send(message)

    def connect(self) -> None:
        self.server = self.socket.connect_to_server()
        self.server.on_message(self._from_server)
        for message in self._held:
            self.server.send(message)
        self._held.clear()

    async def release_replies(self) -> int:
        """Send the page the replies held, once the server has sent one at least."""
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            await self._reply_held.wait()
        self._reply_held.clear()
        released = len(self._held_replies)
        for message in self._held_replies:
            self.socket.send(message)
        self._held_replies.clear()
        return released

    async def close(self) -> None:
        await self.socket.close(code=1012, reason="restart")
        if self.server is not None:
            await self.server.close()


class Relays:
    """The page's widget sockets, in the order it opened them."""

    def __init__(self) -> None:
        self._relays: list[Relay] = []
        self._opened = asyncio.Event()

    def add(self, relay: Relay) -> None:
        self._relays.append(relay)
        self._opened.set()

    async def nth(self, index: int) -> Relay:
        """The ``index``-th socket (from 0), once the page has opened it."""
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while len(self._relays) <= index:
                self._opened.clear()
                await self._opened.wait()
        return self._relays[index]

    def __len__(self) -> int:
        return len(self._relays)


async def route_widget_socket(page: Page, **options: Any) -> Relays:
    relays = Relays()

    async def route(socket: WebSocketRoute) -> None:
        relays.add(Relay(socket, **options))

    await page.route_web_socket(re.compile(r"/ws$"), route)
    return relays


async def test_typing_indicator_shows_until_the_reply_arrives(
    new_page: NewPage, base_url: str
) -> None:
    page = await new_page()
    relays = await route_widget_socket(page, hold_replies=True)
    await page.goto(f"{base_url}/")
    relay = await relays.nth(0)
    relay.connect()
    await expect(page.get_by_test_id("rsv-panel")).to_contain_text("Online")

    await say(page, "oi")
    await expect(page.get_by_test_id("rsv-typing")).to_be_visible()
    await expect(messages(page, "bot")).to_have_count(0)

    assert await relay.release_replies() == 1
    await expect(messages(page, "bot")).to_have_count(1)
    await expect(page.get_by_test_id("rsv-typing")).to_be_hidden()


async def test_link_buttons_and_images_from_the_server(new_page: NewPage, base_url: str) -> None:
    """A reply with a link button, an unsafe link and an image (no action sends those yet)."""
    page = await new_page()
    relays = await route_widget_socket(page)
    await page.goto(f"{base_url}/")
    relay = await relays.nth(0)
    relay.connect()
    await expect(page.get_by_test_id("rsv-panel")).to_contain_text("Online")

    relay.socket.send(
        json.dumps(
            {
                "type": "message",
                "text": "Pague aqui: &lt;b&gt;seguro&lt;/b&gt;",
                "buttons": [
                    {"title": "Pagar", "url": "https://pay.example/checkout/1"},
                    {"title": "Perigo", "url": "javascript:alert(1)"},
                    {"title": "Menu", "payload": "intent:help"},
                ],
                "image": {"url": f"{base_url}/healthz", "alt": "Suíte Vista Mar"},
            }
        )
    )
    reply = messages(page, "bot").first
    await expect(reply).to_contain_text("Pague aqui: <b>seguro</b>")
    link = reply.get_by_role("link", name="Pagar")
    await expect(link).to_have_attribute("href", "https://pay.example/checkout/1")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener")
    await expect(reply.get_by_text("Perigo")).to_have_count(0)
    await expect(reply.get_by_test_id("rsv-button")).to_have_text(["Menu"])
    await expect(reply.get_by_role("img", name="Suíte Vista Mar")).to_have_count(1)


async def test_a_forged_token_starts_a_new_conversation(new_page: NewPage, base_url: str) -> None:
    page = await open_demo(new_page, base_url)
    await page.evaluate("key => localStorage.setItem(key, 'forged.token.value')", TOKEN_KEY)
    await page.reload()

    await expect(messages(page, "system")).to_have_count(1)
    await expect(messages(page, "system")).to_have_text(re.compile(r"\S"))
    await expect(page.get_by_test_id("rsv-panel")).to_contain_text("Online")
    conversation_of(await stored_token(page))  # a new token the server signed
    await say(page, "oi")
    await expect(messages(page, "bot")).to_have_text([GREETING_PT])


async def test_panel_fills_a_phone_screen(new_page: NewPage, base_url: str) -> None:
    page = await open_demo(
        new_page, base_url, viewport={"width": 375, "height": 740}, reduced_motion="reduce"
    )
    box = await page.get_by_test_id("rsv-panel").bounding_box()
    assert box is not None
    assert (box["x"], box["width"]) == (0, 375)
    await expect(page.get_by_test_id("rsv-launcher")).to_be_hidden()

    await page.get_by_role("button", name="Fechar o chat").click()
    await expect(page.get_by_test_id("rsv-panel")).to_be_hidden()
    await page.get_by_test_id("rsv-launcher").click()
    await expect(page.get_by_test_id("rsv-panel")).to_be_visible()
    await expect(page.get_by_test_id("rsv-input")).to_be_focused()


WELCOME = {
    "pt-BR": ("Olá! Sou o assistente virtual da Pousada do Mar",
              ["Reservar", "Ver preços", "Minhas reservas", "Falar com uma pessoa"]),
    "en": ("Hello! I'm the virtual assistant of Pousada do Mar",
           ["Book a stay", "See prices", "My bookings", "Talk to a person"]),
    "es": ("¡Hola! Soy el asistente virtual de Pousada do Mar",
           ["Reservar", "Ver precios", "Mis reservas", "Hablar con una persona"]),
}  # fmt: skip


@pytest.mark.parametrize("lang", ["pt-BR", "en", "es"])
async def test_the_widget_greets_once_in_the_pages_language_with_quick_replies(
    new_page: NewPage, base_url: str, lang: str
) -> None:
    page = await open_demo(new_page, base_url, welcome=True, lang=lang, locale="pt-BR")
    bot = messages(page, "bot")
    greeting, buttons = WELCOME[lang]
    await expect(bot).to_have_count(1)
    await expect(bot.first).to_contain_text(greeting)
    await expect(bot.first.get_by_test_id("rsv-button")).to_have_text(buttons)

    await page.reload()  # the same conversation: no second greeting
    await expect(page.get_by_test_id("rsv-panel")).to_be_visible()
    await expect(bot).to_have_count(1)
    # The server answers a hello (and its greeting, if any) before the next frame: once the
    # button's reply is shown, a second greeting would be too.
    await bot.first.get_by_role("button", name=buttons[0]).click()
    await expect(messages(page, "guest")).to_have_text([buttons[0]])
    await expect(bot.nth(1)).to_have_text(re.compile(r"\S"))
    await expect(bot).to_have_count(2)


NEW_YEAR = {
    "pt-BR": ("tem vaga pro réveillon na pousada do mar? somos um casal e um bebê", "Réveillon",
              "Disponível na Pousada do Mar"),
    "en": ("any room at pousada do mar for new year's eve? a couple and a baby", "New Year's Eve",
           "Available at Pousada do Mar"),
    "es": ("hay lugar en la pousada do mar para año nuevo? una pareja y un bebé", "Año Nuevo",
           "Disponible en Pousada do Mar"),
}  # fmt: skip
PRICED = re.compile(r"\d.*(R\$|BRL)")


@pytest.mark.parametrize("lang", ["pt-BR", "en", "es"])
async def test_a_holiday_is_its_usual_stay_and_the_longer_stays_are_buttons_with_prices(
    new_page: NewPage, base_url: str, lang: str
) -> None:
    """Réveillon's usual stay is shorter than the demo's season asks: the widget shows the
    holiday read as dates and the stays that do work as buttons, and one press books on."""
    check_in, check_out = new_year_stay(today())
    locale = lang.replace("-", "_")
    page = await open_demo(new_page, base_url, lang=lang, locale=lang)
    bot = messages(page, "bot")
    text, holiday, available = NEW_YEAR[lang]

    await say(page, text)
    proposal = bot.last
    await expect(proposal).to_contain_text(
        f"{holiday}: {format_skeleton('dM', check_in, locale=locale)}"
    )
    await expect(proposal).to_contain_text(format_skeleton("dM", check_out, locale=locale))
    stays = proposal.get_by_test_id("rsv-button").filter(has_text=PRICED)
    await expect(stays.first).to_be_visible()
    nights = minimum_stay(check_in, today())
    longer = format_skeleton("dM", check_in + timedelta(days=nights), locale=locale)
    await expect(stays.first).to_contain_text(longer)

    answered = await bot.count()
    await stays.first.click()
    await expect(bot).to_have_count(answered + 1)
    await expect(bot.last).to_contain_text(available)
