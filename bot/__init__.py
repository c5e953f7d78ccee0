"""The engine of Onion RSV 360: it knows neither providers nor hotels."""

from bot.context import Context
from bot.engine import Engine
from bot.forms import Form, Slot
from bot.router import Router
from bot.types import Address, Button, Choice, Image, Message, Outcome, Parse, Reply, TurnResult

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
