"""Handoff plugs in: the desk that opens, takes and releases conversations (the pipeline's
``Relay`` step forwards a taken conversation through it) and the guest's and staff's intents."""

from __future__ import annotations

from actions.capability import Capability, Kit
from actions.handoff.conversation import create_router
from actions.handoff.desk import HandoffDesk
from actions.handoff.store import HandoffStore
from bot.core.types import Address


def plug(kit: Kit, team_address: str | None) -> Capability:
    """``team_address``: ``channel:conversation`` where requests are announced, if anywhere."""
    team = Address.parse(team_address)
    kit.services.provide(
        HandoffDesk(HandoffStore(kit.stores.handoffs), kit.notifier, team, kit.default_locale)
    )
    return Capability(create_router())
