"""Which gateways a reservation is offered: routes by property and currency, and gateways
without credentials left out rather than failing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from actions.payments.metrics import FORGERIES, REJECTIONS
from actions.payments.routing import Routes
from actions.payments.service import PaymentService
from bot.root.app import build_runtime
from bot.root.settings import Settings

VERIFICATION_FAILURES = "rsv_webhook_verification_failures_total"


def test_a_propertys_route_wins_over_its_currencys() -> None:
    routes = Routes.parse(
        ["BRL=mercadopago+sandbox", "USD=stripe+paypal", "hotel-serra-azul/BRL=stripe"],
        enabled={"stripe", "mercadopago", "paypal"},
    )
    assert routes.for_("pousada-do-mar", "BRL") == ["mercadopago", "sandbox"]
    assert routes.for_("hotel-serra-azul", "BRL") == ["stripe"]
    assert routes.for_("pousada-do-mar", "USD") == ["stripe", "paypal"]
    assert routes.for_("pousada-do-mar", "EUR") == ["sandbox"]


def test_gateways_without_credentials_are_left_out() -> None:
    routes = Routes.parse(["USD=stripe+paypal", "BRL=mercadopago"], enabled={"paypal"})
    assert routes.for_("any", "USD") == ["paypal"]
    assert routes.for_("any", "BRL") == ["sandbox"]


@pytest.mark.parametrize("entry", ["BRL", "=stripe", "BRL=", "BRL=+"])
def test_a_malformed_route_stops_the_start(entry: str) -> None:
    with pytest.raises(ValueError, match="payment route"):
        Routes.parse([entry], enabled=set())


def test_the_runtime_builds_only_the_gateways_it_has_credentials_for(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        payment={"routes": ["BRL=mercadopago+paypal+stripe"]},
        stripe={"api_key": "sk_test", "webhook_secret": "whsec_x"},
        paypal={"client_id": "client", "client_secret": "secret"},
        mercadopago={"access_token": "TEST-token"},
    )
    payments = build_runtime(settings).services.get(PaymentService)
    assert set(payments.gateways) == {"sandbox", "stripe"}


def test_each_gateways_webhook_rejections_are_exported_at_zero_from_the_start(
    make_settings: Callable[..., Settings],
) -> None:
    """So the first forgery is an increase the alert rule sees at its next evaluation."""
    settings = make_settings(stripe={"api_key": "sk_test", "webhook_secret": "whsec_x"})
    registry = build_runtime(settings).metrics.registry
    for gateway in ("sandbox", "stripe"):
        for reason in REJECTIONS:
            labels = {"gateway": gateway, "reason": reason}
            assert registry.get_sample_value("rsv_payment_webhooks_rejected_total", labels) == 0
        for reason in FORGERIES:  # the security alert rule's counter, shared with the channels
            labels = {"source": gateway, "reason": reason}
            assert registry.get_sample_value(VERIFICATION_FAILURES, labels) == 0
    assert (
        registry.get_sample_value(
            "rsv_payment_webhooks_rejected_total", {"gateway": "paypal", "reason": "signature"}
        )
        is None
    ), "a gateway without credentials has no series"
