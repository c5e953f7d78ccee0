"""Forecast models trained as the bot trains them, for the tests that ask for forecasts.

Registered as a pytest plugin by tests/conftest.py: the ``trained`` fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.forecasts import training
from actions.forecasts.history import to_frame
from actions.forecasts.registry import MODELS, Registry
from actions.forecasts.synthetic import generate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
"""How every chart the bot sends begins."""
DEMO = "pousada-do-mar"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both models trained once per module on the demo's synthetic history (what the bot
    generates); a module's tests share the directory."""
    directory = tmp_path_factory.mktemp("forecasts")
    registry = Registry(directory)
    history = to_frame(generate(DEMO, datetime.now(UTC).date()))
    for name in MODELS:
        registry.promote(training.train_and_store(registry, name, history))
    return directory
