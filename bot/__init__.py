"""The engine of Onion RSV 360: it knows neither providers nor hotels.

Its rooms: ``core`` (messages, pipeline, routers, forms, dispatch, rendering), ``steps`` (the
pipeline's steps), ``stores`` (what outlives a turn: Redis or in-process, and the database),
``outbound`` (paced delivery, proactive replies, media) and ``edge`` (rules every HTTP channel
applies). ``root`` is the composition root and the command line: the one place that imports
capabilities and channels. This package exports the names a capability or a channel builds on.
"""

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
