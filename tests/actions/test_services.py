"""The services capabilities provide to actions, looked up by type."""

from __future__ import annotations

from datetime import date

import pytest

from actions.services import Services


class Desk:
    pass


class Ledger:
    pass


def test_a_provided_object_is_found_by_its_class() -> None:
    services = Services("Pousada", lambda zone: date(2026, 1, 1))
    desk, ledger = Desk(), Ledger()
    services.provide(desk, ledger)
    assert services.get(Desk) is desk
    assert services.get(Ledger) is ledger


def test_a_class_provided_twice_is_a_wiring_mistake() -> None:
    services = Services("Pousada", lambda zone: date(2026, 1, 1))
    services.provide(Desk())
    with pytest.raises(ValueError, match="Desk is already provided"):
        services.provide(Desk())


def test_what_no_capability_provides_is_named() -> None:
    services = Services("Pousada", lambda zone: date(2026, 1, 1))
    with pytest.raises(LookupError, match="no capability provides Ledger"):
        services.get(Ledger)
