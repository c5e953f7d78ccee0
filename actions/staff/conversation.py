"""Staff answer no chat intent of their own yet: their accounts live in the console. The router
is where such intents would go."""

from __future__ import annotations

from actions.services import Services
from bot.core.router import Router


def create_router() -> Router[Services]:
    return Router("staff")
