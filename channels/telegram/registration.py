"""Registering the webhook with Telegram, light enough for a command-line call.

This is one Bot API request, made with aiohttp rather than aiogram: importing aiogram builds
its whole type model (seconds), which ``rsv360 telegram set-webhook`` should not wait for.
"""

from __future__ import annotations

import json

from aiohttp import ClientError, ClientSession, ClientTimeout

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]
API_BASE = "https://api.telegram.org"


class RegistrationFailed(Exception):
    """Telegram refused the webhook or could not be reached; the message says which."""


async def set_webhook(token: str, url: str, secret_token: str, api_base: str | None = None) -> None:
    """Point Telegram at ``url`` with the secret and the update types the channel handles."""
    endpoint = f"{(api_base or API_BASE).rstrip('/')}/bot{token}/setWebhook"
    fields = {
        "url": url,
        "secret_token": secret_token,
        "allowed_updates": json.dumps(ALLOWED_UPDATES),
        "drop_pending_updates": "false",
    }
    try:
        async with (
            ClientSession(timeout=ClientTimeout(total=30)) as session,
            session.post(endpoint, data=fields) as response,
        ):
            answer = await response.json(content_type=None)
    except (ClientError, TimeoutError, ValueError) as error:
        raise RegistrationFailed(f"Telegram could not be reached: {type(error).__name__}") from None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        described = answer.get("description") if isinstance(answer, dict) else None
        raise RegistrationFailed(f"Telegram refused the webhook: {described or 'no reason given'}")
