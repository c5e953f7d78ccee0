"""The sandbox checkout end to end: a guest books through the widget's WebSocket, opens the
payment link, pays or fails, and the chat hears about it (live, or when the widget comes back).

Both backends: in-process stores and Redis (the pending replies are a Redis list there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import update

from actions.booking.holds import Holds
from actions.booking.reservations import Reservations
from actions.booking.tables import Reservation
from actions.booking.upkeep import hold_expiry_notice
from bot.core.render import Renderer
from bot.core.types import Address, Button, Outcome, Reply
from bot.outbound.proactive import MAX_PENDING, PENDING_TTL_SECONDS, Notifier, PendingReplies
from bot.root.app import Runtime, build_runtime, create_app
from bot.root.settings import PACKAGE_ROOT, Settings
from bot.stores.memory import MemoryListStore
from bot.stores.redis import RedisListStore
from tests.support.stays import in_portuguese, off_season_stay
from tests.support.widget_socket import Chat, open_chat, receive

SECRET = "test-widget-secret"  # what tests/conftest.py's make_settings configures
CODE = re.compile(r"RSV-[A-Z0-9]{6}")
TOTAL = re.compile(r"Total: (R\$\s[\d.]+,\d\d)")
FORM = re.compile(r'name="form" value="([^"]+)"')
CONFIRMED = "Pagamento recebido! A reserva {code} está confirmada."

SettingsFactory = Callable[..., Settings]


async def nothing_more(chat: Chat) -> None:
    """No frame is waiting: a turn of our own comes back with its typing frame first."""
    assert (await chat.says("obrigado")).startswith("De nada!")


@dataclass
class Booking:
    chat: Chat
    code: str
    total: str
    path: str  # /checkout/sandbox/<token>


async def book(client: TestClient) -> Booking:
    """The whole booking in the widget, up to the payment link."""
    chat = await open_chat(client)
    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    assert "Quantos hóspedes" in await chat.says(f"quero reservar na Pousada do Mar {stay}")
    assert "Quarto Standard" in await chat.presses("2 adultos")
    assert "Em nome de quem" in await chat.presses("Quarto Standard")
    assert "e-mail" in await chat.says("Maria Souza")
    assert "Confira sua reserva" in await chat.says("maria@example.com")
    held = await chat.presses("Confirmar")
    code, total = CODE.search(held), TOTAL.search(held)
    assert code, held
    assert total, held
    assert "Aqui está o link de pagamento" in await chat.presses("Pagar agora")
    link = urlsplit(chat.link())
    assert link.path.startswith("/checkout/sandbox/")
    return Booking(chat, code.group(0), total.group(1), link.path)


@dataclass
class Shop:
    client: TestClient
    runtime: Runtime

    @property
    def origin(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    async def page(self, path: str) -> tuple[int, str]:
        response = await self.client.get(path)
        assert response.content_type == "text/html"
        return response.status, await response.text()

    async def form_of(self, path: str) -> str:
        status, html = await self.page(path)
        assert status == 200, html
        found = FORM.search(html)
        assert found, html
        return found.group(1)

    async def post(
        self, path: str, form: str | None, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        response = await self.client.post(
            path,
            data={"form": form} if form is not None else {},
            headers={"Origin": self.origin} if headers is None else headers,
            allow_redirects=False,
        )
        return response.status, response.headers.get("Location", "")

    async def state(self, code: str) -> str:
        return (await self.runtime.services.get(Reservations).by_code(code)).state

    async def expire(self, code: str) -> None:
        """The hold ran out a minute ago (the upkeep has not swept it yet)."""
        await self.hold_ends_in(code, timedelta(minutes=-1))

    async def run_job(self, name: str) -> None:
        """One run of a capability's job, here and now (the queue would run it later)."""
        [job] = [job for c in self.runtime.capabilities for job in c.jobs if job.name == name]
        await job.run()

    async def hold_ends_in(self, code: str, left: timedelta) -> None:
        async with self.runtime.database.session() as session:
            await session.execute(
                update(Reservation)
                .where(Reservation.code == code)
                .values(hold_expires_at=datetime.now(UTC) + left)
            )


@pytest.fixture
async def shop(aiohttp_client: Any, backend_settings: SettingsFactory) -> Shop:
    settings = backend_settings()
    runtime = build_runtime(settings)
    return Shop(await aiohttp_client(create_app(settings, runtime)), runtime)


async def test_paying_confirms_once_and_every_open_tab_hears_it(shop: Shop) -> None:
    booking = await book(shop.client)
    other_tab = await open_chat(shop.client, booking.chat.token)
    assert other_tab.conversation_id == booking.chat.conversation_id

    status, html = await shop.page(booking.path)
    assert status == 200
    assert booking.total in html
    assert booking.code in html
    assert "Pousada do Mar" in html
    assert "Quarto Standard" in html
    assert "Maria Souza" in html
    assert "Simular falha no pagamento" in html
    assert '<html lang="pt-BR">' in html
    form = FORM.search(html)
    assert form
    second_form = await shop.form_of(booking.path)  # the page open in another browser tab

    status, location = await shop.post(booking.path + "/pay", form.group(1))
    assert (status, location) == (303, booking.path + "/result")
    assert await shop.state(booking.code) == "confirmed"
    for chat in (booking.chat, other_tab):
        frame = await receive(chat.ws)
        assert frame["type"] == "message"
        assert frame["text"].startswith(CONFIRMED.format(code=booking.code))
        assert "Pousada do Mar · Quarto Standard" in frame["text"]
        assert f"Total pago: {booking.total}" in frame["text"]
        assert frame["buttons"] == []

    status, html = await shop.page(location)
    assert status == 200
    assert "Pagamento recebido" in html
    assert 'data-status="paid"' in html

    # The same form again, the other tab's form, and the page itself: no second message.
    assert await shop.post(booking.path + "/pay", form.group(1)) == (303, location)
    assert await shop.post(booking.path + "/pay", second_form) == (303, location)
    status, html = await shop.page(booking.path)
    assert (status, 'data-status="paid"' in html, FORM.search(html)) == (200, True, None)
    await nothing_more(booking.chat)
    await nothing_more(other_tab)
    history = await shop.runtime.services.get(Reservations).history(booking.code)
    assert [event.to_state for event in history].count("confirmed") == 1


async def test_a_failed_payment_is_told_with_a_pay_button_and_the_hold_stays(shop: Shop) -> None:
    booking = await book(shop.client)
    form = await shop.form_of(booking.path)

    status, location = await shop.post(booking.path + "/fail", form)
    assert (status, location) == (303, booking.path + "/result?status=failed")
    frame = await receive(booking.chat.ws)
    assert frame["type"] == "message"
    assert frame["text"].startswith(f"O pagamento da {booking.code} não foi aprovado")
    assert frame["buttons"] == [
        {"title": "Pagar agora", "payload": f"intent:pay|code={booking.code}"}
    ]
    assert await shop.state(booking.code) == "pending_payment"
    last = (await shop.runtime.services.get(Reservations).history(booking.code))[-1]
    assert (last.actor, last.note) == ("sandbox", "payment failed")

    status, html = await shop.page(location)
    assert status == 200
    assert "Pagamento não concluído" in html
    assert f'href="{booking.path}"' in html  # try again

    assert await shop.post(booking.path + "/fail", form) == (303, location)  # a double click
    await nothing_more(booking.chat)

    # The chat's button asks for the link again, and paying still works.
    booking.chat.last = frame
    assert "Aqui está o link de pagamento" in await booking.chat.presses("Pagar agora")
    assert await shop.post(booking.path + "/pay", await shop.form_of(booking.path)) == (
        303,
        booking.path + "/result",
    )
    assert (await receive(booking.chat.ws))["text"].startswith("Pagamento recebido!")


async def test_paying_after_the_hold_expired_says_so_on_the_page_and_in_the_chat(
    shop: Shop,
) -> None:
    booking = await book(shop.client)
    form = await shop.form_of(booking.path)
    await shop.expire(booking.code)

    status, html = await shop.page(booking.path)
    assert status == 200
    assert "O prazo para pagar terminou" in html
    assert FORM.search(html) is None

    status, location = await shop.post(booking.path + "/pay", form)  # the page was left open
    assert (status, location) == (303, booking.path + "/result")
    assert await shop.state(booking.code) == "expired"
    frame = await receive(booking.chat.ws)
    assert frame["text"].startswith(f"O pagamento da {booking.code} chegou depois")
    assert frame["buttons"] == [{"title": "Reservar de novo", "payload": "intent:book"}]
    status, html = await shop.page(location)
    assert 'data-status="expired"' in html
    assert "nada foi cobrado" in html

    assert await shop.post(booking.path + "/pay", form) == (303, location)  # sent again
    await nothing_more(booking.chat)
    # the sweep has nothing to tell
    assert await shop.runtime.services.get(Holds).expire_holds() == []


async def test_the_guest_hears_once_that_the_hold_runs_out_soon_with_the_pay_button(
    shop: Shop,
) -> None:
    booking = await book(shop.client)
    await shop.hold_ends_in(booking.code, timedelta(minutes=10))
    await shop.run_job("warn_expiring_holds")  # too early: nothing to tell
    await shop.hold_ends_in(booking.code, timedelta(minutes=3, seconds=10))
    await shop.run_job("warn_expiring_holds")

    frame = await receive(booking.chat.ws)
    assert frame["text"] == (
        f"A reserva {booking.code} fica guardada para você só mais 3 minutos: "
        "pague agora para mantê-la."
    )
    assert frame["buttons"] == [
        {"title": "Pagar agora", "payload": f"intent:pay|code={booking.code}"}
    ]
    await shop.run_job("warn_expiring_holds")  # warned already
    await nothing_more(booking.chat)
    booking.chat.last = frame
    assert "Aqui está o link de pagamento" in await booking.chat.presses("Pagar agora")


async def test_expired_holds_are_told_in_the_chat(shop: Shop) -> None:
    booking = await book(shop.client)
    await shop.expire(booking.code)

    expired = await shop.runtime.services.get(Holds).expire_holds()
    assert [r.code for r in expired] == [booking.code]
    await hold_expiry_notice(shop.runtime.notifier)(expired)

    frame = await receive(booking.chat.ws)
    assert frame["text"].startswith(f"A reserva {booking.code} expirou")
    assert frame["buttons"] == [{"title": "Reservar de novo", "payload": "intent:book"}]
    booking.chat.last = frame
    assert "Onde você gostaria de ficar" in await booking.chat.presses("Reservar de novo")


async def test_a_closed_widget_gets_the_confirmation_when_it_comes_back(shop: Shop) -> None:
    booking = await book(shop.client)
    await booking.chat.ws.close()

    status, _ = await shop.post(booking.path + "/pay", await shop.form_of(booking.path))
    assert status == 303
    assert await shop.state(booking.code) == "confirmed"

    back = await open_chat(shop.client, booking.chat.token)
    assert back.conversation_id == booking.chat.conversation_id
    frame = await receive(back.ws)
    assert frame["type"] == "message"
    assert frame["text"].startswith(CONFIRMED.format(code=booking.code))
    await nothing_more(back)
    await back.ws.close()

    again = await open_chat(shop.client, booking.chat.token)  # delivered once, not each time
    await nothing_more(again)


async def test_forged_and_unknown_links_are_not_found(shop: Shop) -> None:
    status, html = await shop.page("/checkout/sandbox/forged.token.value")
    assert status == 404
    assert "Link de pagamento inválido" in html
    unknown = URLSafeTimedSerializer(SECRET, salt="rsv360-sandbox-checkout").dumps("RSV-NOPE00")
    status, html = await shop.page(f"/checkout/sandbox/{unknown}")
    assert status == 404
    assert (await shop.page(f"/checkout/sandbox/{unknown}/result"))[0] == 404
    response = await shop.client.get(
        "/checkout/sandbox/forged", headers={"Accept-Language": "en-US,en;q=0.8"}
    )
    assert response.status == 404
    assert "Payment link not valid" in await response.text()
    assert (await shop.post("/checkout/sandbox/forged/pay", None))[0] == 403


async def test_cross_site_and_forged_posts_are_refused(shop: Shop) -> None:
    booking = await book(shop.client)
    other = await book(shop.client)
    form = await shop.form_of(booking.path)
    pay = booking.path + "/pay"

    refused = [
        await shop.post(pay, form, {"Origin": "https://evil.example"}),
        await shop.post(pay, form, {"Origin": "null"}),
        await shop.post(pay, form, {"Referer": "https://evil.example/page"}),
        await shop.post(pay, form, {"Origin": shop.origin, "Sec-Fetch-Site": "cross-site"}),
        await shop.post(pay, None),
        await shop.post(pay, "forged"),
        await shop.post(pay, await shop.form_of(other.path)),  # another link's form
        await shop.post(booking.path + "/fail", form, {"Origin": "https://evil.example"}),
    ]
    assert refused == [(403, "")] * len(refused)
    response = await shop.client.post(pay, data={"form": form}, headers={"Origin": "null"})
    assert "Pedido recusado" in await response.text() or "Request refused" in await response.text()
    assert await shop.state(booking.code) == "pending_payment"
    await nothing_more(booking.chat)

    # The page's own form from the same site (Referer only, or nothing: not a browser) works.
    status, _ = await shop.post(pay, form, {"Referer": shop.origin + booking.path})
    assert status == 303
    assert await shop.state(booking.code) == "confirmed"


async def test_checkout_pages_are_locked_down(shop: Shop) -> None:
    booking = await book(shop.client)
    response = await shop.client.get(booking.path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    html = await response.text()
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # nothing from elsewhere
    assert "<script" not in html
    stylesheet = await shop.client.get("/checkout/static/checkout.css")
    assert stylesheet.status == 200
    assert stylesheet.content_type == "text/css"


def test_checkout_pages_escape_values_and_speak_the_reservations_language() -> None:
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    values = {
        "code": "RSV-ABC123", "property": "Mar & <Sol>", "room": "Suíte", "name": "<b>Ana</b>",
        "checkin": "2027-03-10", "checkout": "2027-03-12", "nights": 2, "adults": 2,
        "children": 1, "total": 118240, "currency": "BRL", "minutes_left": 1,
        "stylesheet": "/s.css", "form": "f", "pay_url": "/p", "fail_url": "/f",
    }  # fmt: skip
    pages = {
        locale: renderer.render(Outcome("checkout/pay", values), locale, "html").text
        for locale in ("pt_BR", "en", "es")
    }
    assert "Mar &amp; &lt;Sol&gt;" in pages["en"]
    assert "&lt;b&gt;Ana&lt;/b&gt;" in pages["en"]
    assert "<b>Ana" not in pages["en"]
    assert "Pagar R$\xa01.182,40" in pages["pt_BR"]
    assert "Pay R$1,182.40" in pages["en"]
    assert "1 minuto más" in pages["es"]
    assert "2 adultos, 1 criança</dd>" in pages["pt_BR"]
    assert "2 noites</dd>" in pages["pt_BR"]


async def test_pending_replies_keep_the_newest_and_are_taken_once(redis: Any) -> None:
    address = Address("web", "conversation-1")
    replies = [Reply(f"reply {n}") for n in range(MAX_PENDING + 5)]
    replies[0] = Reply("with a button", (Button("Pay", url="https://pay.example/1"),))
    for store in (PendingReplies(MemoryListStore()), PendingReplies(RedisListStore(redis))):
        await store.push(address, replies[:10])
        await store.push(address, replies[10:])
        assert await store.take(address) == replies[-MAX_PENDING:]
        assert await store.take(address) == []
        await store.push(address, replies[:1])
        assert await store.take(address) == replies[:1], "a reply's buttons travel with it"
    await PendingReplies(RedisListStore(redis)).push(address, replies[:1])
    assert 0 < await redis.ttl("rsv:pending:{web:conversation-1}") <= PENDING_TTL_SECONDS


async def test_memory_pending_replies_are_forgotten_after_a_day() -> None:
    now = [0.0]
    store = PendingReplies(MemoryListStore(lambda: now[0]))
    address = Address("web", "a")
    await store.push(address, [Reply("later")])
    now[0] = PENDING_TTL_SECONDS + 1
    assert await store.take(address) == []


async def test_a_notice_for_a_channel_without_deliverer_is_dropped() -> None:
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    pending = PendingReplies(MemoryListStore())
    notifier = Notifier(renderer, {"web": "html"}, pending)
    address = Address("terminal", "t-1")
    await notifier.notify(address, "en", [Outcome("booking/hold_expired", {"code": "RSV-X"})])
    assert await pending.take(address) == []
