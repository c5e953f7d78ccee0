"""The staff console in a real headless Chromium against the real app on a loopback port: signing
in with a one-time password, the lockout, a forged request refused, the Today page updating
live, the admins' staff page, a booking found and cancelled on the Bookings page, a takeover
round trip with a guest on the widget; axe-core finds no serious or critical violation on any
page.

With ``CONSOLE_SCREENSHOTS=docs/console`` the tests also save each page for docs/console.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from actions.alerts.desk import AlertDesk
from actions.alerts.model import Alert
from actions.booking.holds import Guest, Holds
from actions.booking.tables import Product, ReservationEvent
from actions.forecasts.registry import Registry
from bot.root.settings import Settings
from tests.support.axe import blocking_violations
from tests.support.console_server import STRONG_PASSWORD, ConsoleServer, serve_console, sign_in
from tests.support.stays import off_season_stay
from tests.support.widget_page import TIMEOUT_MS, messages, say

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT_MS)
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")

NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(browser: Browser, console_server: ConsoleServer) -> AsyncIterator[NewPage]:
    """Pages in fresh browser contexts (English unless told), closed before the server stops."""
    contexts: list[BrowserContext] = []

    async def make(**options: Any) -> Page:
        context = await browser.new_context(
            **{"locale": "en-US", "viewport": {"width": 1200, "height": 900}, **options}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return await context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()


async def accessible(page: Page, name: str) -> None:
    """No serious or critical axe violation; the page saved for the docs when asked."""
    assert await blocking_violations(page) == [], name
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


async def test_first_sign_in_replaces_the_one_time_password(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    one_time = await console_server.directory.add("Ana@Pousada.example", "staff", "test")
    page = await new_page()
    await page.goto(f"{console_server.url}/console/today")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await accessible(page, "login")

    await sign_in(page, console_server.url, "ana@pousada.example", one_time)
    await expect(page).to_have_url(re.compile(r"/console/password$"))
    await accessible(page, "password")
    await page.goto(f"{console_server.url}/console/today")  # nothing else opens before
    await expect(page).to_have_url(re.compile(r"/console/password$"))

    await page.get_by_label("New password", exact=True).fill(STRONG_PASSWORD)
    await page.get_by_label("New password again").fill(STRONG_PASSWORD + "!")
    await page.get_by_role("button", name="Save password").click()
    await expect(page.get_by_test_id("problem")).to_be_visible()

    await page.get_by_label("New password", exact=True).fill(STRONG_PASSWORD)
    await page.get_by_label("New password again").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Save password").click()
    await expect(page).to_have_url(re.compile(r"/console/today$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Today")

    cookie = next(c for c in await page.context.cookies() if c["name"] == "rsv_console")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/console")
    assert cookie["secure"] is False  # the public URL is plain http here
    assert await console_server.directory.authenticate("ana@pousada.example", one_time) is None


async def test_today_updates_live_without_a_reload(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    email = await console_server.account("front@pousada.example")
    page = await new_page()
    await sign_in(page, console_server.url, email)
    await expect(page.get_by_test_id("held")).to_have_text("0")
    await expect(page.get_by_test_id("understood")).to_have_text("\N{EN DASH}")
    await expect(page.get_by_test_id("holds-chart").locator("rect")).to_have_count(24)

    # A guest writes (REST, loopback) and two stays are held: the figures change while the
    # page stays open.
    async with (
        ClientSession() as http,
        http.post(
            f"{console_server.url}/api/v1/messages",
            json={"user_id": "guest-1", "text": "oi"},
        ) as answer,
    ):
        assert answer.status == 200
    hours = await hold_two_stays(console_server)
    await expect(page.get_by_test_id("understood")).to_have_text("100%")
    await expect(page.get_by_test_id("conversations-open")).to_have_text("1")
    await expect(page.get_by_test_id("latency-p50")).to_have_text(re.compile(r"^\d+ ms$"))
    await expect(page.get_by_test_id("held")).to_have_text("2")
    chart = page.get_by_test_id("holds-chart").locator("rect")
    for hour, count in hours.items():
        await expect(chart.nth(hour)).to_have_attribute("data-count", str(count))
    assert int(await page.get_by_test_id("figures").get_attribute("data-updates") or 0) >= 1
    assert page.url.endswith("/console/today")
    await accessible(page, "today")


async def hold_two_stays(console_server: ConsoleServer) -> Counter[int]:
    """The holds made per hour (the hotel's), for the chart's bars."""
    holds = console_server.runtime.services.get(Holds)
    async with console_server.runtime.database.session() as session:
        product = (await session.scalars(select(Product.id).order_by(Product.id))).first()
    assert product is not None
    check_in, check_out = off_season_stay()
    for number in range(2):
        guest = Guest(f"Guest {number}", f"guest{number}@example.com")
        await holds.hold(
            product, check_in, check_out, 1, 0, guest, "rest",
            f"guest-{number}", "pt_BR", "guest:rest",
        )  # fmt: skip
    async with console_server.runtime.database.session() as session:
        made = (
            await session.scalars(
                select(ReservationEvent.at).where(ReservationEvent.to_state == "held")
            )
        ).all()
    zone = ZoneInfo(console_server.runtime.settings.timezone)
    aware = (moment.replace(tzinfo=moment.tzinfo or UTC) for moment in made)
    return Counter(moment.astimezone(zone).hour for moment in aware)


async def test_sign_ins_are_locked_out_after_repeated_failures(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    email = await console_server.account("night@pousada.example")
    page = await new_page()
    for _ in range(5):
        await sign_in(page, console_server.url, email, "not the password")
        await expect(page.get_by_test_id("problem")).to_have_text("Wrong e-mail or password.")

    await sign_in(page, console_server.url, email)  # the right password, too late
    await expect(page.get_by_test_id("problem")).to_have_text(
        re.compile(r"^\s*Too many failed sign-ins\. Try again in 1[0-5] minutes\.\s*$")
    )
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    actions = [line.action for line in await console_server.directory.audit_log()]
    assert actions.count("sign_in_failed") == 5
    assert "sign_in_locked" in actions
    assert "signed_in" not in actions


async def test_a_request_without_the_right_csrf_token_changes_nothing(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    email = await console_server.account("desk@pousada.example")
    page = await new_page()
    await sign_in(page, console_server.url, email)
    await expect(page).to_have_url(re.compile(r"/console/today$"))

    await page.locator('form[action="/console/logout"] input[name="csrf"]').evaluate(
        "field => field.value = 'forged-token-forged-token-forged'"
    )
    await page.get_by_test_id("logout").click()
    await expect(page.get_by_test_id("refused")).to_be_visible()
    await accessible(page, "refused")

    await page.goto(f"{console_server.url}/console/today")  # still signed in
    await expect(page).to_have_url(re.compile(r"/console/today$"))
    actions = [line.action for line in await console_server.directory.audit_log()]
    assert "csrf_refused" in actions
    assert "signed_out" not in actions


async def test_signing_out_everywhere_ends_every_session(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    email = await console_server.account("owner@pousada.example")
    laptop, phone = await new_page(), await new_page()
    for page in (laptop, phone):
        await sign_in(page, console_server.url, email)
        await expect(page).to_have_url(re.compile(r"/console/today$"))

    await laptop.get_by_test_id("logout-everywhere").click()
    await expect(laptop).to_have_url(re.compile(r"/console/login$"))
    # The phone's live stream notices and goes to the sign-in page by itself.
    await expect(phone).to_have_url(re.compile(r"/console/login$"))


async def test_admins_manage_accounts_and_staff_may_not(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    admin = await console_server.account("admin@pousada.example", "admin")
    page = await new_page(locale="pt-BR")
    await sign_in_pt(page, console_server.url, admin)
    await page.get_by_role("link", name="Equipe").click()
    await expect(page).to_have_url(re.compile(r"/console/staff$"))

    await page.get_by_label("Idioma").select_option("en")
    await page.get_by_role("button", name="Trocar").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Staff")

    await page.locator("#add-email").fill("new@pousada.example")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_test_id("one-time")).to_contain_text("new@pousada.example")
    await page.locator("#link-email").fill("new@pousada.example")
    await page.get_by_label("Chat identity (such as slack:U012AB)").fill("slack:U0NEW")
    await page.get_by_role("button", name="Link", exact=True).click()
    await expect(page.get_by_test_id("accounts")).to_contain_text("slack:U0NEW")
    await expect(page.get_by_test_id("audit")).to_contain_text("identity_linked")
    await accessible(page, "staff")
    assert (await console_server.directory.linked_roles()) == {"slack:U0NEW": "staff"}

    staff = await console_server.account("clerk@pousada.example")
    other = await new_page()
    await sign_in(other, console_server.url, staff)
    await expect(other.get_by_role("link", name="Staff")).to_have_count(0)
    answer = await other.goto(f"{console_server.url}/console/staff")
    assert answer is not None
    assert answer.status == 403
    await expect(other.get_by_test_id("forbidden")).to_be_visible()
    await accessible(other, "forbidden")


async def sign_in_pt(page: Page, url: str, email: str) -> None:
    await page.goto(f"{url}/console/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Senha", exact=True).fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Entrar").click()
    await expect(page).to_have_url(re.compile(r"/console/today$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Hoje")


async def test_an_alert_is_acknowledged_and_silenced_from_the_alerts_page(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    desk = console_server.runtime.services.get(AlertDesk)
    await desk.raise_alert(Alert("payment", "critical", "pay:stripe", "Stripe is failing"))
    email = await console_server.account("ops@pousada.example")
    page = await new_page()
    await sign_in(page, console_server.url, email)
    await page.get_by_label("Language").select_option("pt_BR")  # the staff member's choice
    await page.get_by_role("button", name="Change").click()
    await page.get_by_role("link", name="Alertas").click()
    alert = page.get_by_test_id("alert")
    await expect(alert).to_contain_text("Stripe is failing")
    await expect(alert).to_contain_text("crítico")
    await accessible(page, "alerts")

    await alert.get_by_role("button", name="Reconhecer: Stripe is failing").click()
    await expect(alert.get_by_test_id("alert-state")).to_contain_text(f"Reconhecido por {email}")
    await alert.get_by_role("button", name="Silenciar por 24 horas: Stripe is failing").click()
    await expect(alert.get_by_test_id("alert-state")).to_contain_text("Silenciado até")
    await expect(page).to_have_url(f"{console_server.url}/console/alerts")


async def test_the_refunds_and_payments_page_filters_the_ledger(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    email = await console_server.account("books@pousada.example")
    page = await new_page()
    await sign_in(page, console_server.url, email)
    await page.get_by_role("link", name="Refunds and payments").click()
    await expect(page.get_by_test_id("none-waiting")).to_be_visible()
    await expect(page.get_by_test_id("reconciliation")).to_be_visible()
    await accessible(page, "refunds")

    await page.get_by_label("Kind").select_option("refund")
    await page.get_by_label("Booking").fill("rsv-ab12cd")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(r"/console/refunds\?.*kind=refund"))
    await expect(page.get_by_test_id("ledger-empty")).to_be_visible()
    await expect(page.get_by_test_id("csv")).to_have_attribute(
        "href", "/console/refunds/ledger.csv?kind=refund&reservation=RSV-AB12CD"
    )


async def test_a_takeover_round_trip_with_a_guest_on_the_widget(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    """A guest chats on the demo page's widget; a staff member watches the conversation come in,
    takes it over, answers from the console, reads the guest's reply live and hands back."""
    guest = await new_page(locale="pt-BR")
    await guest.goto(f"{console_server.url}/")
    await expect(guest.get_by_test_id("rsv-panel")).to_be_visible()
    await say(guest, "vocês aceitam cachorro?")
    await expect(messages(guest, "guest")).to_have_text(["vocês aceitam cachorro?"])
    await expect(messages(guest).last).to_contain_text("Aceitamos pets")

    email = await console_server.account("desk@pousada.example")
    staff = await new_page()
    await sign_in(staff, console_server.url, email)
    await staff.get_by_role("link", name="Conversations").click()
    await expect(staff).to_have_url(re.compile(r"/console/conversations$"))
    row = staff.get_by_test_id("conversation").first
    await expect(row).to_contain_text("Bot: Aceitamos pets")  # the last line, the bot's answer
    await expect(row.locator("[data-state]")).to_have_text("with the bot")
    await accessible(staff, "conversations")

    await row.get_by_role("link").click()
    await expect(staff).to_have_url(re.compile(r"/console/conversations/\d+$"))
    transcript = staff.get_by_test_id("transcript")
    await expect(transcript.locator('[data-role="guest"]')).to_contain_text(
        ["vocês aceitam cachorro?"]
    )
    await staff.get_by_role("button", name="Take over").click()
    await expect(transcript.get_by_test_id("state")).to_contain_text("taken over by you")
    await expect(messages(guest).last).to_contain_text("Uma pessoa da nossa equipe")
    await accessible(staff, "conversation")

    await say(guest, "e gato também?")
    await expect(transcript.locator('[data-role="guest"] .said').last).to_have_text(
        "e gato também?"
    )
    await staff.get_by_label("Your message to the guest").fill("Sim, gatos também são bem-vindos.")
    await staff.get_by_role("button", name="Send").click()
    await expect(messages(guest).last).to_have_text(
        "Nossa equipe: Sim, gatos também são bem-vindos."
    )
    await expect(transcript.locator('[data-role="staff"]')).to_contain_text(
        ["Sim, gatos também são bem-vindos."]
    )

    await staff.get_by_role("button", name="Hand back to the bot").click()
    await expect(transcript.get_by_test_id("state")).to_contain_text("with the bot")
    await expect(messages(guest).last).to_contain_text("assistente virtual")
    answered = await messages(guest, "bot").count()
    await say(guest, "obrigado!")
    await expect(messages(guest, "bot")).to_have_count(answered + 1)  # the bot answers again
    actions = [line.action for line in await console_server.directory.audit_log()]
    assert {"conversation_taken", "conversation_message_sent", "conversation_handed_back"} <= set(
        actions
    )


async def test_the_bookings_page_finds_a_booking_and_opens_it(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    await hold_two_stays(console_server)
    email = await console_server.account("front@pousada.example")
    page = await new_page()
    await sign_in(page, console_server.url, email)
    await page.get_by_role("link", name="Bookings").click()
    await expect(page).to_have_url(re.compile(r"/console/bookings$"))
    await expect(page.get_by_test_id("booking")).to_have_count(2)

    await page.get_by_label("Guest's name").fill("guest 1")
    await page.get_by_label("State").select_option("held")
    await page.get_by_role("button", name="Search").click()
    await expect(page).to_have_url(re.compile(r"/console/bookings\?.*name=guest\+1"))
    row = page.get_by_test_id("booking")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("guest1@example.com")
    await accessible(page, "bookings")

    await row.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(r"/console/bookings/RSV-[A-Z0-9]{6}$"))
    await expect(page.get_by_test_id("state")).to_have_text("held, waiting for payment")
    await expect(page.get_by_test_id("trail")).to_contain_text("guest:rest")
    # The guest wrote through REST, which only answers requests: nothing can be sent to them.
    await expect(page.get_by_role("button", name="Send the payment link again")).to_have_count(0)
    await accessible(page, "booking")

    await page.get_by_role("button", name="Cancel with the policy's refund").click()
    await expect(page.get_by_test_id("state")).to_have_text("cancelled")
    actions = [line.action for line in await console_server.directory.audit_log()]
    assert "booking_cancelled" in actions


async def test_forecasts_show_their_charts_and_admins_promote_a_version(
    browser: Browser, make_settings: Callable[..., Settings], trained: Path, tmp_path: Path
) -> None:
    models = tmp_path / "forecast-models"
    shutil.copytree(trained, models)
    first = Registry(models).promoted("demand")
    assert first is not None
    metadata = json.loads((models / f"{first}.json").read_text("utf-8"))
    other = metadata["version"] = "demand-29991231235959"  # as a retrain would store it
    shutil.copy(models / f"{first}.skops", models / f"{other}.skops")
    (models / f"{other}.json").write_text(json.dumps(metadata), "utf-8")
    settings = make_settings(forecast={"models_dir": models})
    async with serve_console(settings) as server:
        await server.account("owner@pousada.example", "admin")
        context = await browser.new_context(locale="en-US", viewport={"width": 1200, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = await context.new_page()
            await sign_in(page, server.url, "owner@pousada.example")
            await page.get_by_role("link", name="Forecasts").click()
            await page.get_by_label("Period").select_option("7")
            await page.get_by_role("button", name="Show").click()
            await expect(page).to_have_url(re.compile(r"/console/forecasts\?property=.+&days=7$"))
            await expect(page.get_by_test_id("chart")).to_have_count(3, timeout=120_000)
            for chart in await page.get_by_test_id("chart").all():
                assert await chart.evaluate("image => image.naturalWidth") > 0  # the CSP let it in
            await expect(
                page.get_by_role("img", name=re.compile("occupancy forecast"))
            ).to_be_visible()
            await accessible(page, "forecasts")

            await page.get_by_role("link", name="Model versions").click()
            await expect(
                page.get_by_test_id("model-demand").get_by_test_id("serving")
            ).to_have_text(f"Serving: {first}")
            await accessible(page, "forecast_models")
            await page.get_by_role("button", name=f"Promote {other}").click()
            await expect(
                page.get_by_test_id("model-demand").get_by_test_id("serving")
            ).to_have_text(f"Serving: {other}")
            assert Registry(models).promoted("demand") == other
        finally:
            await context.close()


async def test_an_admin_changes_an_faq_answer_and_the_next_question_gets_it(
    new_page: NewPage, console_server: ConsoleServer
) -> None:
    email = await console_server.account("owner@pousada.example", "admin")
    page = await new_page()
    await sign_in(page, console_server.url, email)
    await page.get_by_role("link", name="Settings").click()
    await expect(page).to_have_url(re.compile(r"/console/settings$"))
    await expect(page.get_by_test_id("setting")).to_have_count(5)
    await accessible(page, "settings")

    await page.get_by_role("link", name="Answers to guests' questions: pousada-do-mar").click()
    document = page.get_by_test_id("document")
    original = await document.input_value()
    pets = '    en: "We welcome small and medium pets in the ground-floor chalets'
    assert pets in original
    bad = original.replace("  pets:\n    pt_BR:", "  pets:\n    xx:")
    await document.fill(bad)
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_test_id("reason")).to_have_text("answers.pets.xx: unknown language")
    assert await page.get_by_test_id("document").input_value() == bad  # what was typed stays
    await accessible(page, "setting_refused")

    changed = "".join(
        '    en: "Pets of every size are welcome."\n' if line.startswith(pets) else line
        for line in original.splitlines(keepends=True)
    )
    await page.get_by_test_id("document").fill(changed)
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_test_id("saved")).to_be_visible()
    await expect(page.get_by_test_id("setting-state")).to_contain_text("Changed by " + email)
    await expect(page.get_by_test_id("change")).to_have_count(1)
    await accessible(page, "setting")

    async with (
        ClientSession() as http,
        http.post(
            f"{console_server.url}/api/v1/messages",
            json={"user_id": "guest-pets", "text": "can I bring my dog?", "locale": "en"},
        ) as answer,
    ):
        assert answer.status == 200
        replies = (await answer.json())["replies"]
    assert [reply["text"] for reply in replies] == ["Pets of every size are welcome."]
