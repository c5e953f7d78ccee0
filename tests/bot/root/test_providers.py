"""Wiring the provider channels: a half-configured WhatsApp, or a broken templates file, stops
the start-up with the reason instead of dropping guests' messages later."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.root.app import create_app
from bot.root.providers import WhatsAppIncomplete
from bot.root.settings import Settings
from channels.whatsapp.templates import TemplatesInvalid

SettingsFactory = Callable[..., Settings]
COMPLETE = {
    "access_token": "EAAG-token",
    "phone_number_id": "1065",
    "app_secret": "secret",
    "verify_token": "verify",
}


def test_a_token_without_the_rest_names_what_is_missing(make_settings: SettingsFactory) -> None:
    settings = make_settings(whatsapp={"access_token": "EAAG-token", "phone_number_id": "1065"})
    with pytest.raises(WhatsAppIncomplete, match="RSV_WHATSAPP_APP_SECRET, RSV_WHATSAPP_VERIFY"):
        create_app(settings)


def test_a_broken_templates_file_stops_the_start_up(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    broken = tmp_path / "templates.yaml"
    broken.write_text("booking/confirmed:\n  name: ok\n  languages: {pt_BR: pt_BR}\n")
    settings = make_settings(whatsapp={**COMPLETE, "templates_file": broken})
    with pytest.raises(TemplatesInvalid, match="no language for en, es"):
        create_app(settings)


def test_without_a_token_the_channel_is_simply_off(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings())
    assert not any(resource.canonical == "/whatsapp/webhook" for resource in app.router.resources())
