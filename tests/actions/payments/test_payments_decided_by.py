"""A refund decision records who made it: the admin key's name (``name:key`` entries, or a
short fingerprint of a plain key) or the staff member's identity on their channel."""

from __future__ import annotations

import hashlib

import pytest

from actions.payments.refunds import Refunds
from actions.payments.tables import Refund
from channels.payment_admin import named_keys
from tests.support.payments_shop import (
    ADMIN_KEY,
    STAFF,
    Shop,
    ShopOpener,
    cancel,
    paid_with,
)

ALICE_KEY = "alice-key-for-tests"


@pytest.fixture
async def named_shop(open_shop: ShopOpener, shop_database: str) -> Shop:
    """Refunds above R$ 100,00 wait for staff; two admin keys, one of them named."""
    return await open_shop(
        shop_database,
        refund_approval_above=100_00,
        payments_admin_keys=[f"alice:{ALICE_KEY}", ADMIN_KEY],
    )


async def waiting_refund(shop: Shop, conversation: str) -> int:
    guest, code = await paid_with(shop, conversation, "Cartão (Stripe)")
    await cancel(guest)
    [refund] = [
        r for r in await shop.runtime.services.get(Refunds).pending() if r.reservation_code == code
    ]
    return refund.id


async def decided_by(shop: Shop, refund_id: int) -> str | None:
    refund = await shop.runtime.services.get(Refunds).get(refund_id)
    assert refund is not None
    assert refund.state in ("paid", "denied")
    return refund.decided_by


async def test_decisions_name_the_admin_key_or_the_staff_member(named_shop: Shop) -> None:
    shop = named_shop
    by_alice, by_plain_key, by_staff = [await waiting_refund(shop, c) for c in ("n1", "n2", "n3")]

    alice = {"Authorization": f"Bearer {ALICE_KEY}"}
    assert (
        await shop.client.post(f"/admin/refunds/{by_alice}/approve", headers=alice)
    ).status == 200
    plain = {"Authorization": f"Bearer {ADMIN_KEY}"}
    denied = await shop.client.post(
        f"/admin/refunds/{by_plain_key}/deny",
        headers=plain,
        json={"reason": "Já estornado no balcão"},
    )
    assert denied.status == 200
    await shop.staff().sends(f"intent:refund_approve|id={by_staff}")

    fingerprint = hashlib.sha256(ADMIN_KEY.encode()).hexdigest()[:8]
    assert await decided_by(shop, by_alice) == "admin:alice"
    assert await decided_by(shop, by_plain_key) == f"admin:key-{fingerprint}"
    assert await decided_by(shop, by_staff) == f"staff:{STAFF.channel}:user-{STAFF.conversation_id}"
    assert await shop.count(Refund, Refund.decided_by == "admin:rest") == 0


def test_a_key_is_named_only_by_a_short_name_before_a_colon() -> None:
    assert named_keys(["ops-team:s3cr3t", "plain", "a:b:c", "with space:k", ""]) == [
        ("ops-team", b"s3cr3t"),
        ("key-" + hashlib.sha256(b"plain").hexdigest()[:8], b"plain"),
        ("a", b"b:c"),
        ("key-" + hashlib.sha256(b"with space:k").hexdigest()[:8], b"with space:k"),
    ]
