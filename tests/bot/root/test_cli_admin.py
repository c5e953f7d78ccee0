"""``rsv360 admin``: staff accounts from the command line, on the embedded database."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.root.cli import main

Run = Callable[..., tuple[int | str | None, str]]
"""``rsv360 admin ARGUMENTS…`` → (exit code, what it printed)."""


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    monkeypatch.setenv("RSV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RSV_DATABASE_URL", raising=False)

    def command(*arguments: str) -> tuple[int | str | None, str]:
        try:
            main(["admin", *arguments])
        except SystemExit as leaving:
            code = leaving.code
        else:
            code = None
        return code, capsys.readouterr().out

    return command


def test_accounts_are_added_listed_linked_disabled_and_reset(run: Run) -> None:
    code, out = run("add-user", "Ana@Pousada.example", "--role", "admin")
    assert code == 0
    first = re.fullmatch(r"ana@pousada\.example \(admin\) one-time password: (\S{16})\n", out)
    assert first is not None

    assert run("add-user", "ana@pousada.example") == (
        "rsv360 admin: an account ana@pousada.example already exists",
        "",
    )
    assert run("link", "ana@pousada.example", "slack:U0ANA")[0] == 0
    code, _ = run("link", "ana@pousada.example", "U0ANA")
    assert code == "rsv360 admin: U0ANA is not a chat identity (slack:U012AB, telegram:123456)"
    assert run("list") == (0, "ana@pousada.example  admin  active  slack:U0ANA\n")

    assert run("disable", "ana@pousada.example")[0] == 0
    assert run("list")[1] == "ana@pousada.example  admin  disabled  slack:U0ANA\n"
    code, out = run("reset-password", "ana@pousada.example")
    assert code == 0
    second = re.fullmatch(r"ana@pousada\.example one-time password: (\S{16})\n", out)
    assert second is not None
    assert second.group(1) != first.group(1)
    assert run("list")[1].startswith("ana@pousada.example  admin  active")

    assert (
        run("disable", "nobody@pousada.example")[0]
        == "rsv360 admin: no account nobody@pousada.example"
    )
    assert run("unlink", "slack:U0ANA")[0] == 0
    assert run("unlink", "slack:U0ANA")[0] == "rsv360 admin: slack:U0ANA is not linked"
