"""The WhatsApp channel end to end: the bot talks to a local Graph API (tests/fakes/whatsapp),
and notifications come in through the webhook signed with the app secret, as Meta signs them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from bot.core.types import Address, Outcome
from bot.root.settings import Settings
from tests.fakes import whatsapp as meta
from tests.support.stays import in_portuguese, off_season_stay
from tests.support.whatsapp_chat import GUEST, WhatsApp, open_whatsapp, texts

SettingsFactory = Callable[..., Settings]


@pytest.fixture
async def whatsapp(aiohttp_client: Any, backend_settings: SettingsFactory) -> AsyncIterator[WhatsApp]:
    async with open_whatsapp(aiohttp_client, backend_settings) as opened:
        yield opened


async def test_a_guest_greets_asks_and_books_with_buttons_a_list_and_a_payment_link(
    whatsapp: WhatsApp,
) -> None:
    greeting = await whatsapp.says("oi")
    assert greeting, "the guest is answered"
    assert greeting[0].text.startswith(("Olá", "Oi")), texts(greeting)
    wifi = await whatsapp.says("qual a senha do wifi?")
    assert any("wi-fi" in text.lower() or "wifi" in text.lower() for text in texts(wifi))

    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    asked = await whatsapp.says(f"quero reservar na Pousada do Mar {stay}")
    assert "Quantos hóspedes" in asked[-1].text
    rooms = await whatsapp.chooses("2 adultos")
    assert "Quarto Standard" in " ".join(
        [c["title"] for call in rooms for c in call.choices] + texts(rooms)
    )
    assert "Em nome de quem" in (await whatsapp.chooses("Quarto Standard"))[-1].text
    assert "e-mail" in (await whatsapp.says("Maria Souza & Filhos"))[-1].text
    summary = (await whatsapp.says("maria_souza_@example.com"))[-1].text
    assert "Maria Souza & Filhos" in summary
    assert "maria_souza_@example.com" in summary, "underscores inside a word stay as typed"
    confirmed = await whatsapp.chooses("Confirmar")
    assert re.search(r"RSV-[A-Z0-9]{6}", " ".join(texts(confirmed)))
    paying = await whatsapp.chooses("Pagar agora")
    assert "link de pagamento" in " ".join(texts(paying))
    link = whatsapp.link()
    assert link["url"].startswith("http")
    assert len(link["display_text"]) <= 20


async def test_pix_comes_as_its_own_copyable_message_and_a_qr_image(whatsapp: WhatsApp) -> None:
    ...
