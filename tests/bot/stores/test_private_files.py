"""The data directory, the embedded database and the secret key are the server user's alone,
whatever the umask of the shell that started it."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.root.app import build_runtime, runtime_lifespan
from bot.root.secret import secret_key
from bot.root.settings import Settings

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022: without care, new files would be readable by every user of the host."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("loose_umask")
async def test_the_sqlite_database_and_the_data_directory_are_private(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    settings = make_settings(data_dir=data, database_url=None, secret_key=None)

    async with runtime_lifespan(build_runtime(settings), upkeep=False):
        assert secret_key(settings) == (data / "secret-key").read_text().strip()
        modes = {path.name: mode(path) for path in data.iterdir() if path.is_file()}

    assert mode(data) == 0o700
    assert {"rsv360.db", "rsv360.db-wal", "secret-key"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_data_directory_is_tightened(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)

    build_runtime(make_settings(data_dir=data, database_url=None))

    assert mode(data) == 0o700
    assert mode(data / "rsv360.db") == 0o600


def test_an_empty_secret_key_setting_means_generate_one(make_settings: SettingsFactory) -> None:
    """docker-compose passes ``RSV_SECRET_KEY=`` when the operator sets none: signing links
    with an empty key would let anyone forge them."""
    settings = make_settings(secret_key="")

    assert settings.secret_key is None
    assert len(secret_key(settings)) >= 32
