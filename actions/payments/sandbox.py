"""The built-in sandbox gateway: a checkout page of our own server, no account needed.

A link carries the reservation code signed with the server's secret, valid while a hold can
last; nothing on the page can name another reservation. ``SandboxPayments`` is the booking side
of the page (``channels.checkout.PaymentDesk``): it takes the payment or a simulated decline and
tells the guest's chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.conversation import BOOK_AGAIN, reservation_facts
from actions.booking.errors import HoldExpired, IllegalTransition, NotFound
from actions.booking.reservations import Reservations
from actions.booking.tables import Reservation
from actions.payments.checkout import Checkout, checkout_of
from actions.payments.gateway import (
    GatewayError,
    InvalidWebhook,
    LinkRequest,
    Notice,
    PaymentLink,
    PaymentState,
    PaymentStatus,
    RefundResult,
)
from actions.payments.service import PaymentService
from actions.payments.tables import SandboxMovement
from bot.core.buttons import button_payload
from bot.core.clock import Now
from bot.core.types import Address, Choice, Outcome
from bot.outbound.proactive import Notifier
from bot.stores.database import Database

log = structlog.get_logger("rsv360.payments")

SALT = "rsv360-sandbox-checkout"


@dataclass(frozen=True, slots=True)
class SandboxCheckout:
    secret: str
    base_url: str
    max_age_seconds: int

    def link_for(self, code: str) -> str:
        token = URLSafeTimedSerializer(self.secret, salt=SALT).dumps(code)
        return f"{self.base_url}/checkout/sandbox/{token}"

    def code_of(self, token: str) -> str | None:
        """The reservation a link is for; None for a forged or outdated one."""
        try:
            code = URLSafeTimedSerializer(self.secret, salt=SALT).loads(
                token, max_age=self.max_age_seconds
            )
        except BadSignature:
            return None
        return code if isinstance(code, str) else None


class SandboxGateway:
    """The sandbox as a gateway: its link is our checkout page, and what it holds is what it
    moved (``sandbox_movements``): a capture when the page took the money, a row per refund."""

    name = "sandbox"
    takes_webhooks = False
    status_by_charge = False
    return_parameter: str | None = None
    keeps_own_books = True

    def __init__(
        self, links: SandboxCheckout, reservations: Reservations, database: Database, now: Now
    ) -> None:
        self._links = links
        self._reservations = reservations
        self._database = database
        self._now = now

    async def create_link(self, request: LinkRequest) -> PaymentLink:
        code = request.reservation_code
        return PaymentLink(f"sandbox-{code}", self._links.link_for(code))

    async def capture(self, reservation: Reservation) -> bool:
        """The page took the reservation's total; False when it had taken it already."""
        try:
            async with self._database.session() as session:
                session.add(
                    SandboxMovement(
                        reservation_code=reservation.code,
                        kind="capture",
                        reference=f"sandbox-{reservation.code}",
                        amount=reservation.total,
                        currency=reservation.currency,
                        at=self._now(),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def status(self, reference: str) -> PaymentStatus:
        code = reference.removeprefix("sandbox-")
        reservation = await self._reservations.by_code(code)
        captured, refunded = await self._held(code)
        state: PaymentState = "paid" if captured else "pending"
        return PaymentStatus(
            reference,
            code,
            state,
            captured or reservation.total,
            reservation.currency,
            reference,
            refunded,
        )

    async def refund(
        self, charge_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        code, reference = charge_reference.removeprefix("sandbox-"), f"sandbox-{idempotency_key}"
        async with self._database.session() as session:
            if await session.scalar(
                select(SandboxMovement.id).where(SandboxMovement.reference == reference)
            ):
                return RefundResult(reference, completed=True)  # the same refund, asked again
            captured, refunded = await self._held(code, session)
            if amount <= 0 or amount > captured - refunded:
                raise GatewayError("sandbox", 422, "amount_exceeds_captured")
            session.add(
                SandboxMovement(
                    reservation_code=code,
                    kind="refund",
                    reference=reference,
                    amount=amount,
                    currency=currency,
                    at=self._now(),
                )
            )
        return RefundResult(reference, completed=True)

    async def expire_link(self, reference: str, reservation_code: str) -> None:
        """The page takes nothing for a reservation that is no longer payable."""

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Notice:
        raise InvalidWebhook("sandbox")  # the sandbox pays on its own page, never by webhook

    async def _held(self, code: str, session: AsyncSession | None = None) -> tuple[int, int]:
        """What the sandbox took for a reservation and what it gave back."""
        query = (
            select(SandboxMovement.kind, func.sum(SandboxMovement.amount))
            .where(SandboxMovement.reservation_code == code)
            .group_by(SandboxMovement.kind)
        )
        if session is None:
            async with self._database.session() as own:
                sums = {kind: total for kind, total in await own.execute(query)}
        else:
            sums = {kind: total for kind, total in await session.execute(query)}
        return int(sums.get("capture") or 0), int(sums.get("refund") or 0)


class SandboxPayments:
    """The sandbox gateway's desk (``channels.checkout.PaymentDesk``): the reservation a signed
    link names, paying it or a simulated decline, and the message the guest's chat gets."""

    def __init__(
        self,
        reservations: Reservations,
        links: SandboxCheckout,
        notifier: Notifier,
        payments: PaymentService,
        now: Now,
    ) -> None:
        self._reservations = reservations
        self._links = links
        self._notifier = notifier
        self._payments = payments
        self._now = now

    async def checkout(self, token: str) -> Checkout | None:
        code = self._links.code_of(token)
        reservation = await self._find(code) if code else None
        return checkout_of(reservation, self._now()) if reservation else None

    async def pay(self, token: str) -> Checkout | None:
        code = self._links.code_of(token)
        if code is None:
            return None
        try:
            reservation, first = await self._reservations.confirm_payment(code, actor="sandbox")
        except NotFound:
            return None
        except HoldExpired:  # expired now, committed: the upkeep's sweep will not tell it again
            reservation = await self._reservations.by_code(code)
            expired = Outcome("booking/payment_expired", {"code": code}, (BOOK_AGAIN,))
            await _tell(self._notifier, reservation, expired)
        except IllegalTransition:  # expired or cancelled earlier: the chat was told then
            reservation = await self._reservations.by_code(code)
        else:
            if first:
                gateway = self._payments.gateways["sandbox"]
                assert isinstance(gateway, SandboxGateway)
                await gateway.capture(reservation)
                await self._payments.record_sandbox_payment(reservation)
                facts = reservation_facts(reservation, reservation.locale, self._now())
                await _tell(self._notifier, reservation, Outcome("booking/confirmed", facts))
        return checkout_of(reservation, self._now())

    async def decline(self, token: str) -> Checkout | None:
        code = self._links.code_of(token)
        reservation = await self._find(code) if code else None
        if reservation is None:
            return None
        checkout = checkout_of(reservation, self._now())
        if checkout.status == "payable":
            await self._reservations.note(reservation.code, "sandbox", "payment failed")
            pay_now = Choice("pay_now", payload=button_payload("pay", code=reservation.code))
            failed = Outcome("booking/payment_failed", checkout.values, (pay_now,))
            await _tell(self._notifier, reservation, failed)
        return checkout

    async def _find(self, code: str) -> Reservation | None:
        try:
            return await self._reservations.by_code(code)
        except NotFound:
            return None


async def _tell(notifier: Notifier, reservation: Reservation, outcome: Outcome) -> None:
    """A message to the conversation the reservation was made in; a failure is only logged:
    the payment or the expiry it reports has happened anyway."""
    try:
        await notifier.notify(
            Address(reservation.channel, reservation.conversation_id), reservation.locale, [outcome]
        )
    except Exception:
        log.exception("notice_failed", template=outcome.template)
