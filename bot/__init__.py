"""The engine of Onion RSV 360: it knows neither providers nor hotels.

Its rooms: ``core`` (messages, pipeline, routers, forms, dispatch, rendering), ``steps`` (the
pipeline's steps), ``stores`` (what outlives a turn: Redis or in-process, and the database),
``outbound`` (paced delivery, proactive replies, media) and ``edge`` (rules every HTTP channel
applies). ``root`` is the composition root and the command line: the one place that imports
capabilities and channels. This package exports the names a capability or a channel builds on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.context import Context
    from bot.core.engine import Engine
    from bot.core.forms import Form, Slot
    from bot.core.router import Router
    from bot.core.types import (
        Address,
        Button,
        Choice,
        Image,
        Message,
        Outcome,
        Parse,
        Reply,
        TurnResult,
    )

_HOMES = {
    "Context": "bot.core.context",
    "Engine": "bot.core.engine",
    "Form": "bot.core.forms",
    "Slot": "bot.core.forms",
    "Router": "bot.core.router",
    **{
        name: "bot.core.types"
        for name in (
            "Address",
            "Button",
            "Choice",
            "Image",
            "Message",
            "Outcome",
            "Parse",
            "Reply",
            "TurnResult",
        )
    },
}


def __getattr__(name: str) -> Any:
    # Loaded on first use: a command that only touches a store or a setting (``rsv360 db``)
    # should not pay for the engine's imports.
    if name not in _HOMES:
        raise AttributeError(f"module 'bot' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = [
    "Address",
    "Button",
    "Choice",
    "Context",
    "Engine",
    "Form",
    "Image",
    "Message",
    "Outcome",
    "Parse",
    "Reply",
    "Router",
    "Slot",
    "TurnResult",
]
