"""Handoff plugs in: the desk that opens, takes and releases conversations (the pipeline's
``Relay`` step forwards a taken conversation through it), the guest conversations' transcripts
(noted by the ``Transcribe`` step, written within a second and at shutdown) and their board for
the staff console, and the guest's and staff's intents."""

from __future__ import annotations

from actions.capability import Capability, Kit
from actions.handoff.board import ConversationBoard
from actions.handoff.conversation import create_router
from actions.handoff.desk import HandoffDesk
from actions.handoff.store import HandoffStore
from actions.handoff.transcripts import Transcripts
from bot.core.types import Address


def plug(kit: Kit, team_address: str | None) -> Capability:
    """``team_address``: ``channel:conversation`` where requests are announced, if anywhere."""
    team = Address.parse(team_address)
    store = HandoffStore(kit.stores.handoffs)
    transcripts = Transcripts(kit.database, kit.now)
    desk = HandoffDesk(store, kit.notifier, team, kit.default_locale, transcripts)
    kit.services.provide(transcripts)
    kit.services.provide(desk)
    kit.services.provide(ConversationBoard(transcripts, store, desk))
    return Capability(create_router(), close=transcripts.close)
