"""The console's Refunds and payments page over HTTP, on a shop whose refunds above R$ 100,00
wait for staff: approve and deny (with the guest's reason) go through the same desk as chat and
``/admin/refunds``, the ledger filters and exports as CSV, and the last reconciliation shows.
The shop checks the money's invariants after each test."""

from __future__ import annotations

import csv
import io
import re

import pytest

from actions.payments.reconcile import Difference, keep
from actions.payments.refunds import Refunds
from actions.staff.accounts import StaffDirectory
from channels.console.forms import COOKIE
from tests.support.console_server import STRONG_PASSWORD
from tests.support.payments_shop import Shop, ShopOpener, cancel, paid_with

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
EMAIL = "front@pousada.example"


@pytest.fixture
async def strict_shop(open_shop: ShopOpener, shop_database: str) -> Shop:
    """Every refund above R$ 100,00 needs staff approval."""
    return await open_shop(shop_database, refund_approval_above=100_00)


async def signed_in(shop: Shop) -> dict[str, str]:
    """The headers of a staff member's requests: the session cookie, in English."""
    directory = shop.runtime.services.get(StaffDirectory)
    one_time = await directory.add(EMAIL, "staff", "test")
    account = await directory.authenticate(EMAIL, one_time)
    assert account is not None
    await directory.change_password(account.id, STRONG_PASSWORD, None)
    token = await directory.start_session(account, None)
    return {"Cookie": f"{COOKIE}={token}", "Accept-Language": "en"}


async def overview(shop: Shop, headers: dict[str, str], query: str = "") -> tuple[int, str]:
    answer = await shop.client.get(f"/console/refunds{query}", headers=headers)
    return answer.status, await answer.text()


async def waiting(shop: Shop, conversation: str) -> tuple[str, int]:
    guest, code = await paid_with(shop, conversation, "Cartão (Stripe)")
    await cancel(guest)
    [refund] = [
        r for r in await shop.runtime.services.get(Refunds).pending() if r.reservation_code == code
    ]
    return code, refund.id


async def test_refunds_are_approved_and_denied_from_the_console(strict_shop: Shop) -> None:
    shop = strict_shop
    (paid_code, to_pay), (denied_code, to_deny) = [await waiting(shop, c) for c in ("m1", "m2")]
    headers = await signed_in(shop)
    status, html = await overview(shop, headers)
    assert status == 200
    assert paid_code in html
    assert denied_code in html
    csrf = CSRF.search(html)
    assert csrf is not None
    post = {"csrf": csrf.group(1)}

    no_reason = await shop.client.post(
        "/console/refunds/deny", data={**post, "refund": str(to_deny), "reason": "  "},
        headers=headers, allow_redirects=False,
    )  # fmt: skip
    assert no_reason.status == 400
    denied = await shop.client.post(
        "/console/refunds/deny",
        data={**post, "refund": str(to_deny), "reason": "Já estornado no balcão"},
        headers=headers, allow_redirects=False,
    )  # fmt: skip
    assert denied.status == 303
    assert "Motivo: Já estornado no balcão" in shop.guest_heard("m2")[-1]
    approved = await shop.client.post(
        "/console/refunds/approve", data={**post, "refund": str(to_pay)},
        headers=headers, allow_redirects=False,
    )  # fmt: skip
    assert approved.status == 303
    again = await shop.client.post(
        "/console/refunds/approve", data={**post, "refund": str(to_pay)}, headers=headers
    )
    assert again.status == 409
    unknown = await shop.client.post(
        "/console/refunds/approve", data={**post, "refund": "999999"}, headers=headers
    )
    assert unknown.status == 404
    assert len(shop.stripe.refunds) == 1

    refunds = shop.runtime.services.get(Refunds)
    assert (await refunds.get(to_pay)).decided_by == f"console:{EMAIL}"  # type: ignore[union-attr]
    assert await refunds.pending() == []
    audit = await shop.runtime.services.get(StaffDirectory).audit_log()
    assert {(line.action, line.subject) for line in audit} >= {
        ("refund_paid", str(to_pay)), ("refund_denied", str(to_deny))
    }  # fmt: skip


async def test_the_ledger_filters_exports_and_shows_the_last_reconciliation(
    strict_shop: Shop,
) -> None:
    shop = strict_shop
    _, stripe_code = await paid_with(shop, "l1", "Cartão (Stripe)")
    _, pix_code = await paid_with(shop, "l2", "Pix ou cartão (Mercado Pago)")
    headers = await signed_in(shop)

    _, everything = await overview(shop, headers)
    assert stripe_code in everything
    assert pix_code in everything
    assert "0 differences." in everything  # the run at start found nothing
    _, stripe_only = await overview(shop, headers, "?gateway=stripe&kind=payment")
    assert stripe_code in stripe_only.partition('id="ledger-heading"')[2]
    assert pix_code not in stripe_only.partition('id="ledger-heading"')[2]
    _, by_code = await overview(shop, headers, f"?reservation={pix_code.lower()}")
    assert stripe_code not in by_code.partition('id="ledger-heading"')[2]

    exported = await shop.client.get("/console/refunds/ledger.csv?kind=payment", headers=headers)
    assert exported.status == 200
    assert exported.headers["Content-Disposition"] == 'attachment; filename="ledger.csv"'
    rows = list(csv.DictReader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    assert {row["reservation"] for row in rows} == {stripe_code, pix_code}
    assert all(int(row["amount"]) > 0 for row in rows)

    await keep(
        shop.runtime.database,
        [Difference(stripe_code, "stripe", "cs_x", 100, 0, 0, 0, "paid in the ledger only")],
        shop.runtime.now(),
    )
    _, reconciled = await overview(shop, headers)
    assert "1 difference." in reconciled
    assert "paid in the ledger only" in reconciled


@pytest.mark.parametrize(
    "query",
    ["?since=2026-13-01", "?until=yesterday", "?kind=bribe", "?gateway=Stripe!",
     "?reservation=DROP%20TABLE", "?page=0", "?page=x", "?since=" + "9" * 30],
)  # fmt: skip
async def test_bad_filters_are_a_clear_400(strict_shop: Shop, query: str) -> None:
    headers = await signed_in(strict_shop)
    status, html = await overview(strict_shop, headers, query)
    assert status == 400
    assert 'data-problem="filter"' in html
    exported = await strict_shop.client.get(f"/console/refunds/ledger.csv{query}", headers=headers)
    assert exported.status == 400
