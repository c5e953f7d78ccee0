"""One clock: every part of the runtime asks the clock ``build_runtime`` is handed, never the
wall clock. A shop whose clock stands 400 days after the (frozen) wall clock books, holds,
takes the money, refunds and lets a hold run out by its own clock alone: a part that still
read the wall clock would stamp its rows 400 days early, or see the hold as lasting that much
longer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute

from actions.booking.holds import Holds
from actions.booking.reservations import Reservations
from actions.payments.tables import LedgerEntry, Payment, Refund, SandboxMovement
from bot.core.clock import today_in
from bot.stores.database import as_utc
from tests.support.clock import NOW, Clock
from tests.support.payments_shop import (
    TEST_PAYMENT,
    Shop,
    ShopOpener,
    cancel,
    pay_on_sandbox_page,
)
from tests.support.stays import off_season_stay

AHEAD = timedelta(days=400)


async def test_a_shop_books_pays_refunds_and_expires_on_the_clock_it_is_handed(
    open_shop: ShopOpener, shop_database: str
) -> None:
    clock = Clock((NOW + AHEAD).astimezone(UTC))
    shop = await open_shop(shop_database, now=clock, payment={"routes": ["BRL=sandbox+stripe"]})
    hold = timedelta(minutes=shop.runtime.settings.hold_minutes)
    today = today_in(shop.runtime.settings.timezone, clock)
    reservations = shop.runtime.services.get(Reservations)

    booked_at = clock()
    guest, code = await shop.book("clock-1", off_season_stay(start_from=today))
    assert f"por {hold.seconds // 60} minutos" in "\n".join(r.text for r in guest.last)
    held = await reservations.by_code(code)
    assert as_utc(held.created_at) == booked_at
    assert held.hold_expires_at is not None
    assert as_utc(held.hold_expires_at) == booked_at + hold

    clock.advance(minutes=3)
    paid_at = clock()
    await shop.pay_with(guest, TEST_PAYMENT)
    assert "por mais 12 minutos" in "\n".join(r.text for r in guest.last)  # of fifteen
    assert await pay_on_sandbox_page(shop, guest.link()) == 303
    assert (await reservations.by_code(code)).state == "confirmed"
    payment = await shop.payment(code)
    assert (as_utc(payment.created_at), as_utc(payment.updated_at)) == (paid_at, paid_at)
    assert [as_utc(entry.at) for entry in await shop.ledger(code)] == [paid_at]

    clock.advance(hours=1)
    cancelled_at = clock()
    await cancel(guest)  # two weeks ahead: inside the free window, all of it back
    refunded = await stamps(shop, Refund.created_at, Refund.reservation_code == code)
    assert refunded == [cancelled_at]
    ledger = sorted(as_utc(entry.at) for entry in await shop.ledger(code))
    assert ledger == [paid_at, cancelled_at]
    moved = await stamps(shop, SandboxMovement.at, SandboxMovement.reservation_code == code)
    assert sorted(moved) == [paid_at, cancelled_at]

    _, unpaid = await shop.book("clock-2", off_season_stay(start_from=today, lead_days=30))
    holds = shop.runtime.services.get(Holds)
    clock.advance(minutes=hold.seconds // 60 - 1)
    assert await holds.expire_holds() == []
    clock.advance(minutes=2)
    assert [r.code for r in await holds.expire_holds()] == [unpaid]
    assert (await reservations.by_code(unpaid)).state == "expired"
    assert await shop.count(Payment, Payment.reservation_code == unpaid) == 0
    assert await shop.count(LedgerEntry, LedgerEntry.reservation_code == unpaid) == 0


async def stamps(
    shop: Shop, column: InstrumentedAttribute[datetime], *where: ColumnElement[bool]
) -> list[datetime]:
    async with shop.runtime.database.session() as session:
        return [as_utc(at) for at in await session.scalars(select(column).where(*where))]
