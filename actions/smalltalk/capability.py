"""Small talk plugs in: greetings, thanks, the help menu and the fallback; it provides nothing."""

from __future__ import annotations

from actions.capability import Capability, Kit
from actions.smalltalk.conversation import create_router


def plug(kit: Kit) -> Capability:
    return Capability(create_router())
