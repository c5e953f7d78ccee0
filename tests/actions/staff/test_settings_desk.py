"""The settings desk on both databases, over a setting of the test's own (a number in a YAML
document): a save is checked, stored, applied and audited; the history shows who, when and the
diff; a reset goes back to the file; another process's desk applies what was saved on its
refresh, keeps the last good value when a stored document no longer checks or the database does
not answer, and applies each setting apart from the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions.staff.accounts import StaffDirectory
from actions.staff.settings import Setting, SettingsDesk, UnknownSetting
from actions.staff.tables import SettingRevision
from bot.core.documents import DocumentError, read_yaml
from bot.stores.database import Database
from tests.support.clock import NOW, Clock

ADMIN = "owner@pousada.example"


class Live:
    """What a process serves: the value a setting's ``apply`` swaps in."""

    def __init__(self, default: int) -> None:
        self.default = default
        self.value = default

    def apply(self, value: int | None) -> None:
        if value == 13:
            raise RuntimeError("the consumer refuses 13")
        self.value = value if value is not None else self.default


def number(text: str) -> int:
    document = read_yaml(text)
    if not isinstance(document, dict) or not isinstance(document.get("limit"), int):
        raise DocumentError("limit", "must be a whole number")
    return int(document["limit"])


def setting(name: str, file: Path, live: Live) -> Setting:
    return Setting(name, file, number, live.apply)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"first": tmp_path / "first.yaml", "second": tmp_path / "second.yaml"}
    for path in paths.values():
        path.write_text("limit: 10\n", encoding="utf-8")
    return paths


def desk_of(
    database: Database, files: dict[str, Path], clock: Clock
) -> tuple[SettingsDesk, dict[str, Live]]:
    lives = {name: Live(10) for name in files}
    settings = [setting(name, path, lives[name]) for name, path in files.items()]
    return SettingsDesk(database, StaffDirectory(database, clock), settings, clock), lives


async def test_save_history_and_reset(database: Database, files: dict[str, Path]) -> None:
    clock = Clock(NOW)
    desk, lives = desk_of(database, files, clock)
    first = await desk.save("first", "limit: 20\n", ADMIN, "192.0.2.1")
    assert lives["first"].value == 20  # applied at once where saved
    state = await desk.state("first")
    assert (state.overridden, state.document, state.changed_by) == (True, "limit: 20\n", ADMIN)
    assert state.changed_at == NOW
    clock.advance(minutes=5)
    reset = await desk.reset("first", ADMIN, None)
    assert reset is not None
    assert lives["first"].value == 10
    assert await desk.reset("first", ADMIN, None) is None  # already the default: nothing stored
    history = await desk.history("first")
    assert [(change.revision, change.reset) for change in history] == [
        (reset, True),
        (first, False),
    ]
    assert "-limit: 10\n+limit: 20\n" in history[1].diff
    assert "-limit: 20\n+limit: 10\n" in history[0].diff
    assert history[0].changed_at == clock.now
    audit = await StaffDirectory(database, clock).audit_log()
    assert [(line.action, line.subject, line.details) for line in audit] == [
        ("setting_reset", "first", {"revision": reset}),
        ("setting_saved", "first", {"revision": first}),
    ]
    overview = {state.name: state.overridden for state in await desk.overview()}
    assert overview == {"first": False, "second": False}


async def test_a_refused_document_stores_nothing(
    database: Database, files: dict[str, Path]
) -> None:
    desk, lives = desk_of(database, files, Clock(NOW))
    for text in ("limit: ten\n", "limit: [\n", "x" * (64 * 1024 + 1)):
        with pytest.raises(DocumentError):
            await desk.save("first", text, ADMIN, None)
    with pytest.raises(UnknownSetting):
        await desk.save("third", "limit: 1\n", ADMIN, None)
    assert lives["first"].value == 10
    assert await desk.history("first") == []
    assert await StaffDirectory(database, Clock(NOW)).audit_log() == []


async def test_another_process_applies_what_was_saved_on_its_refresh(
    database: Database, files: dict[str, Path]
) -> None:
    saving, _ = desk_of(database, files, Clock(NOW))
    other, lives = desk_of(database, files, Clock(NOW))
    await saving.save("first", "limit: 20\n", ADMIN, None)
    assert lives["first"].value == 10
    assert await other.refresh() == ["first"]
    assert lives["first"].value == 20
    assert await other.refresh() == []  # applied once

    # A stored document that no longer checks (written by another release), and one that its
    # consumer refuses: each keeps its last good value, and the other setting still applies.
    async with database.session() as session:
        session.add(
            SettingRevision(name="first", document="limit: [", changed_by="old", changed_at=NOW)
        )
    await saving.save("second", "limit: 30\n", ADMIN, None)
    assert await other.refresh() == ["second"]
    assert (lives["first"].value, lives["second"].value) == (20, 30)
    async with database.session() as session:
        session.add(
            SettingRevision(name="second", document="limit: 13\n", changed_by="old", changed_at=NOW)
        )
    assert await other.refresh() == []
    assert lives["second"].value == 30


async def test_a_failed_read_keeps_every_value(database: Database, files: dict[str, Path]) -> None:
    saving, _ = desk_of(database, files, Clock(NOW))
    other, lives = desk_of(database, files, Clock(NOW))
    await saving.save("first", "limit: 20\n", ADMIN, None)
    assert await other.refresh() == ["first"]
    await database.engine.dispose()
    broken: Any = other
    broken._database = Database("sqlite+aiosqlite:////nonexistent/dir/x.db")
    assert await other.refresh() == []
    assert lives["first"].value == 20
