"""A whole booking in a real headless Chromium: the widget, the sandbox checkout page in a new
tab, and the confirmation arriving in the widget of the first tab."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from bot.root.app import create_app
from bot.root.settings import Settings
from tests.support.stays import in_portuguese, off_season_stay
from tests.support.widget_page import TIMEOUT_MS, messages, say

pytestmark = pytest.mark.browser

WIDGET_SHOT = Path("/tmp/booking-widget.png")
CHECKOUT_SHOT = Path("/tmp/booking-checkout.png")
PAID_SHOT = Path("/tmp/booking-paid.png")
CODE = re.compile(r"RSV-[A-Z0-9]{6}")
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def base_url(make_settings: Callable[..., Settings]) -> AsyncIterator[str]:
    """The app on a free loopback port that is also its public URL (the payment links)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    runner = web.AppRunner(create_app(make_settings(public_url=url)))
    await runner.setup()
    await web.SockSite(runner, listener).start()
    try:
        yield url
    finally:
        await runner.cleanup()


async def press(page: Page, name: str | re.Pattern[str]) -> None:
    buttons = messages(page, "bot").last
    await buttons.get_by_role("button", name=name, exact=isinstance(name, str)).click()


async def bot_says(page: Page, text: str) -> None:
    await expect(messages(page, "bot").last).to_contain_text(text)


async def test_a_guest_books_pays_on_the_sandbox_page_and_the_widget_confirms(
    browser: Browser, base_url: str
) -> None:
    context = await browser.new_context(
        locale="pt-BR", reduced_motion="reduce", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        await page.goto(f"{base_url}/")
        await expect(page.get_by_test_id("rsv-panel")).to_be_visible()

        check_in, check_out = off_season_stay()
        stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
        await say(page, f"quero reservar na Pousada do Mar {stay}")
        await bot_says(page, "Quantos hóspedes")
        await press(page, "2 adultos")
        await bot_says(page, "Quarto Standard")
        await press(page, re.compile(r"^Quarto Standard"))
        await bot_says(page, "Em nome de quem")
        await say(page, "Maria Souza")
        await bot_says(page, "e-mail")
        await say(page, "maria@example.com")
        await bot_says(page, "Confira sua reserva")
        await press(page, "Confirmar")
        await bot_says(page, "está guardada para você")
        held = await messages(page, "bot").last.text_content()
        code = CODE.search(held or "")
        assert code, held
        await press(page, "Pagar agora")
        await bot_says(page, "Aqui está o link de pagamento")

        link = messages(page, "bot").last.get_by_role("link", name="Abrir a página de pagamento")
        async with context.expect_page() as opened:
            await link.click()
        checkout_page = await opened.value
        await checkout_page.wait_for_load_state()
        await expect(checkout_page).to_have_title(re.compile(code.group(0)))
        await expect(checkout_page.get_by_role("heading", level=1)).to_have_text(
            "Confirme sua reserva"
        )
        await expect(checkout_page.get_by_test_id("total")).to_contain_text("R$")
        await expect(checkout_page.get_by_text("Maria Souza")).to_be_visible()
        await checkout_page.screenshot(path=str(CHECKOUT_SHOT), full_page=True)

        await checkout_page.get_by_role("button", name=re.compile(r"^Pagar R\$")).click()
        await expect(checkout_page.get_by_role("heading", level=1)).to_have_text(
            "Pagamento recebido"
        )
        await checkout_page.screenshot(path=str(PAID_SHOT), full_page=True)

        confirmation = messages(page, "bot").last
        await expect(confirmation).to_contain_text(
            f"Pagamento recebido! A reserva {code.group(0)} está confirmada."
        )
        await expect(confirmation).to_contain_text("Pousada do Mar · Quarto Standard")
        # the greeting on open, the booking, one confirmation and no repeat
        await expect(messages(page, "bot")).to_have_count(9)
        await page.get_by_test_id("rsv-panel").screenshot(path=str(WIDGET_SHOT))
    finally:
        await context.close()
