"""The console's Bookings pages over HTTP on the payments shop (SQLite and PostgreSQL): the
search and its filters, a reservation's detail, and what staff do to it from there (cancel
with the policy's refund, once; the payment link and the confirmation sent again to the guest's
own chat), each audited; bad input and refusals change nothing. The shop checks the money's
invariants after each test."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp import ClientResponse
from sqlalchemy import select

from actions.booking.holds import Guest, Holds
from actions.booking.reservations import Reservations
from actions.booking.tables import Product, Property
from actions.payments.tables import LedgerEntry, Refund
from actions.staff.accounts import StaffDirectory
from tests.support.payments_shop import Shop, paid_with
from tests.support.stays import Stay, off_season_stay

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CODES = re.compile(r'data-code="(RSV-[A-Z0-9]{6})"')
EMAIL = "desk@pousada.example"


async def signed_in(shop: Shop) -> dict[str, str]:
    """A staff member's headers (session cookie, English) and, under ``csrf``, the form token."""
    directory = shop.runtime.services.get(StaffDirectory)
    one_time = await directory.add(EMAIL, "staff", "test")
    account = await directory.authenticate(EMAIL, one_time)
    assert account is not None
    await directory.change_password(account.id, "correct horse battery staple", None)
    token = await directory.start_session(account, None)
    headers = {"Cookie": f"rsv_console={token}", "Accept-Language": "en"}
    page = await shop.client.get("/console/bookings", headers=headers)
    found = CSRF.search(await page.text())
    assert found is not None
    return {**headers, "csrf": found.group(1)}


async def press(shop: Shop, signed: dict[str, str], code: str, what: str) -> ClientResponse:
    headers = {name: value for name, value in signed.items() if name != "csrf"}
    return await shop.client.post(
        f"/console/bookings/{code}/{what}",
        data={"csrf": signed["csrf"]},
        headers=headers,
        allow_redirects=False,
    )


async def listed(shop: Shop, signed: dict[str, str], query: str = "") -> tuple[int, list[str]]:
    headers = {name: value for name, value in signed.items() if name != "csrf"}
    answer = await shop.client.get(f"/console/bookings{query}", headers=headers)
    return answer.status, CODES.findall(await answer.text())


async def detail(shop: Shop, signed: dict[str, str], code: str) -> tuple[int, str]:
    headers = {name: value for name, value in signed.items() if name != "csrf"}
    answer = await shop.client.get(f"/console/bookings/{code}", headers=headers)
    return answer.status, await answer.text()


async def audited(shop: Shop) -> list[tuple[str, str]]:
    audit = await shop.runtime.services.get(StaffDirectory).audit_log()
    return [(line.action, line.subject) for line in audit]


def stay_after(earlier: Stay | None) -> Stay:
    """An off-season stay that begins after ``earlier`` ends (the first one when None)."""
    lead = 14
    while earlier is not None and off_season_stay(lead_days=lead)[0] <= earlier[1]:
        lead += 1
    return off_season_stay(lead_days=lead)


async def held_for(shop: Shop, name: str, email: str, slug: str, stay: Stay) -> str:
    """A hold made straight at the desk of holds, at the first room of ``slug``."""
    async with shop.runtime.database.session() as session:
        product = await session.scalar(
            select(Product.id)
            .join(Property, Product.property_id == Property.id)
            .where(Property.slug == slug)
            .order_by(Product.id)
            .limit(1)
        )
    assert product is not None
    check_in, check_out = stay
    reservation = await shop.runtime.services.get(Holds).hold(
        product, check_in, check_out, 1, 0, Guest(name, email), "test", f"h-{email}",
        "pt_BR", "guest:test",
    )  # fmt: skip
    return reservation.code


async def test_bookings_are_found_by_each_filter_newest_first(shop: Shop) -> None:
    async with shop.runtime.database.session() as session:
        slugs = list(await session.scalars(select(Property.slug).order_by(Property.id)))
    stays = [stay_after(None)]
    stays += [stay_after(stays[0])]
    stays += [stay_after(stays[1])]
    first = await held_for(shop, "Ana Lima", "ana@example.com", slugs[0], stays[0])
    second = await held_for(shop, "João da Silva", "JOAO@Mail.example", slugs[1], stays[1])
    third = await held_for(shop, "Joana Dark", "joana@example.com", slugs[0], stays[2])
    await shop.runtime.services.get(Reservations).cancel(third, "test")
    signed = await signed_in(shop)

    assert await listed(shop, signed) == (200, [third, second, first])
    assert (await listed(shop, signed, f"?code={second.lower()}"))[1] == [second]
    assert (await listed(shop, signed, "?email=mail.EXAMPLE"))[1] == [second]
    assert (await listed(shop, signed, "?name=JO"))[1] == [third, second]
    assert (await listed(shop, signed, "?name=jOãO%20DA"))[1] == [second]
    assert (await listed(shop, signed, "?name=%25"))[1] == []  # a % is itself
    assert (await listed(shop, signed, f"?property={slugs[0]}"))[1] == [third, first]
    assert (await listed(shop, signed, "?state=cancelled"))[1] == [third]
    assert (await listed(shop, signed, "?state=held&name=jo"))[1] == [second]
    reservations = shop.runtime.services.get(Reservations)
    stay = await reservations.by_code(second)
    last_night = (stay.check_out - timedelta(days=1)).isoformat()
    overlapping = f"?since={last_night}&until={last_night}"
    assert (await listed(shop, signed, overlapping))[1] == [second]
    departure = f"?since={stay.check_out.isoformat()}&until={stay.check_out.isoformat()}"
    assert (await listed(shop, signed, departure))[1] == []  # the day they leave is not a night
    assert (await listed(shop, signed, "?name=nobody"))[1] == []


async def test_the_detail_shows_the_trail_payments_ledger_and_refunds(shop: Shop) -> None:
    _, code = await paid_with(shop, "d1", "Cartão (Stripe)")
    signed = await signed_in(shop)
    status, html = await detail(shop, signed, code.lower())
    assert status == 200
    assert f"Booking {code}" in html
    assert "Maria Souza" in html
    trail = html.partition('data-testid="trail"')[2].partition("</table>")[0]
    assert "gateway:stripe" in trail
    assert "confirmed" in trail
    assert "stripe" in html.partition('data-testid="payments"')[2].partition("</table>")[0]
    assert "No refund." in html
    assert "Send the confirmation again" in html
    assert "Send the payment link again" not in html  # paid already

    assert (await detail(shop, signed, "RSV-ZZZZZZ"))[0] == 404
    assert (await detail(shop, signed, "not-a-code"))[0] == 404


async def test_cancelling_refunds_by_the_policy_once(shop: Shop) -> None:
    _, code = await paid_with(shop, "c1", "Cartão (Stripe)")
    signed = await signed_in(shop)
    total = (await shop.runtime.services.get(Reservations).by_code(code)).total

    answer = await press(shop, signed, code, "cancel")
    assert answer.status == 303
    assert answer.headers["Location"] == f"/console/bookings/{code}"
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "cancelled"
    assert any("foi cancelada" in text for text in shop.guest_heard("c1"))
    again = await press(shop, signed, code, "cancel")
    assert again.status == 409
    assert 'data-problem="impossible"' in await again.text()
    await shop.settle()
    assert len(shop.stripe.refunds) == 1
    assert await shop.count(Refund, Refund.reservation_code == code) == 1
    assert [row.amount for row in await shop.ledger(code)] == [total, -total]
    _, html = await detail(shop, signed, code)
    assert f"console:{EMAIL}" in html.partition('data-testid="trail"')[2]
    assert "paid back" in html.partition('data-testid="refunds"')[2]
    assert ("booking_cancelled", code) in await audited(shop)
    assert await shop.count(LedgerEntry, LedgerEntry.kind == "refund") == 1


async def test_the_payment_link_is_sent_again_to_the_guests_chat(shop: Shop) -> None:
    _, code = await shop.book("l1")
    signed = await signed_in(shop)
    heard = len(shop.guest_heard("l1"))

    answer = await press(shop, signed, code, "payment-link")
    assert answer.status == 303
    [offer] = shop.guest_heard("l1")[heard:]
    assert "Como você prefere pagar" in offer  # what "Pagar agora" answers, in their language
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == (
        "pending_payment"
    )
    assert ("link_sent", code) in await audited(shop)
    _, html = await detail(shop, signed, code)
    assert "payment link sent again" in html

    confirmation = await press(shop, signed, code, "confirmation")
    assert confirmation.status == 409  # nothing was paid
    assert len(shop.guest_heard("l1")) == heard + 1


async def test_the_confirmation_is_sent_again_once_paid(shop: Shop) -> None:
    _, code = await paid_with(shop, "p1", "Cartão (Stripe)")
    signed = await signed_in(shop)
    confirmed = [text for text in shop.guest_heard("p1") if "Pagamento recebido" in text]
    assert len(confirmed) == 1

    answer = await press(shop, signed, code, "confirmation")
    assert answer.status == 303
    again = [text for text in shop.guest_heard("p1") if "Pagamento recebido" in text]
    assert again == confirmed * 2
    assert ("confirmation_sent", code) in await audited(shop)
    link = await press(shop, signed, code, "payment-link")
    assert link.status == 409
    assert len(shop.stripe.sessions) == 1


@pytest.mark.parametrize(
    "query",
    ["?code=DROP%20TABLE", "?since=2026-13-01", "?until=tomorrow", "?state=paid",
     "?property=Pousada%20do%20Mar!", "?page=0", "?page=x", "?name=" + "a" * 121,
     "?since=2026-12-10&until=2026-12-09"],
)  # fmt: skip
async def test_bad_searches_are_a_clear_400(shop: Shop, query: str) -> None:
    signed = await signed_in(shop)
    headers = {name: value for name, value in signed.items() if name != "csrf"}
    answer = await shop.client.get(f"/console/bookings{query}", headers=headers)
    assert answer.status == 400
    assert 'data-problem="filter"' in await answer.text()


async def test_presses_on_unknown_bookings_or_without_the_token_change_nothing(
    shop: Shop,
) -> None:
    _, code = await paid_with(shop, "u1", "Cartão (Stripe)")
    signed = await signed_in(shop)
    for what in ("cancel", "payment-link", "confirmation"):
        assert (await press(shop, signed, "RSV-ZZZZZZ", what)).status == 404
        assert (await press(shop, signed, "nonsense", what)).status == 404
        forged = await press(shop, {**signed, "csrf": "x" * 43}, code, what)
        assert forged.status == 403
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    assert shop.stripe.refunds == {}
    assert not [action for action, _ in await audited(shop) if action.startswith("booking_")]
