"""``rsv360 payments check``: the payments invariants over the whole database; 0 and a one-line
summary when they hold, 1 and each violation named when they do not."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from actions.payments.tables import Payment
from bot.root.cli import main
from tests.support.payments_shop import (
    Shop,
    paid_with,
    point_the_cli_at,
)


async def checked(capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(main, ["payments", "check"])
    return exited.value.code, capsys.readouterr().out


async def test_the_check_passes_then_names_each_violation(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_the_cli_at(shop, monkeypatch)
    _, code = await paid_with(shop, "i1", "Cartão (Stripe)")
    _, other = await paid_with(shop, "i2", "PayPal")

    status, printed = await checked(capsys)
    assert status == 0
    assert printed.strip().splitlines()[-1] == "payments invariants hold for 2 reservation(s)"

    # Behind the bot's back: a refund in Stripe's dashboard, and a payment row rewritten.
    shop.stripe.intents[next(iter(shop.stripe.intents))]["latest_charge"]["amount_refunded"] = 500
    async with shop.runtime.database.session() as session:
        await session.execute(
            update(Payment).where(Payment.reservation_code == other).values(status="failed")
        )
    shop.broken_on_purpose = {"ledger_vs_gateway", "kept_payment"}

    status, printed = await checked(capsys)
    assert status == 1
    lines = printed.strip().splitlines()
    assert f"{code}: ledger_vs_gateway: " in printed
    assert f"{other}: kept_payment: confirmed, keeps payments []" in lines
    assert lines[-1] == "2 violation(s) of the payments invariants"
