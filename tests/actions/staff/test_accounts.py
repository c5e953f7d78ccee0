"""Staff accounts on both databases: one-time passwords, Argon2 checks, disabling, sessions with
idle and absolute expiry, signing out everywhere, linked chat identities and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from actions.staff.accounts import (
    AccountExists,
    InvalidIdentity,
    StaffDirectory,
    UnknownAccount,
    token_hash,
)
from actions.staff.tables import StaffAccount
from bot.stores.database import Database
from tests.support.clock import NOW, Clock

IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=12)
PASSWORD = "a long enough password"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def directory(database: Database, clock: Clock) -> StaffDirectory:
    return StaffDirectory(database, clock)


async def ready(directory: StaffDirectory, email: str, role: str = "staff") -> int:
    one_time = await directory.add(email, role, "test")  # type: ignore[arg-type]
    account = await directory.authenticate(email, one_time)
    assert account is not None
    await directory.change_password(account.id, PASSWORD, "192.0.2.1")
    return account.id


async def test_a_new_account_signs_in_once_with_its_one_time_password(
    directory: StaffDirectory, database: Database
) -> None:
    one_time = await directory.add(" Ana@Pousada.Example ", "admin", "cli")
    account = await directory.authenticate("ana@pousada.example", one_time)
    assert account is not None
    assert (account.email, account.role, account.must_change_password) == (
        "ana@pousada.example",
        "admin",
        True,
    )
    async with database.session() as session:
        stored = await session.get(StaffAccount, account.id)
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")
        assert one_time not in stored.password_hash

    await directory.change_password(account.id, PASSWORD, None)
    assert await directory.authenticate("ana@pousada.example", one_time) is None
    changed = await directory.authenticate("ANA@pousada.example", PASSWORD)
    assert changed is not None
    assert not changed.must_change_password
    with pytest.raises(AccountExists):
        await directory.add("ana@pousada.example", "staff", "cli")


async def test_wrong_passwords_and_unknown_accounts_are_refused_alike(
    directory: StaffDirectory,
) -> None:
    await ready(directory, "ana@pousada.example")
    assert await directory.authenticate("ana@pousada.example", "wrong") is None
    assert await directory.authenticate("nobody@pousada.example", PASSWORD) is None
    assert await directory.authenticate("ana@pousada.example", "") is None


async def test_a_disabled_account_is_signed_out_and_cannot_sign_in_until_reset(
    directory: StaffDirectory,
) -> None:
    await ready(directory, "ana@pousada.example")
    account = await directory.authenticate("ana@pousada.example", PASSWORD)
    assert account is not None
    token = await directory.start_session(account, None)
    await directory.disable("ana@pousada.example", "admin@pousada.example")
    assert await directory.session(token, IDLE, ABSOLUTE) is None
    assert await directory.authenticate("ana@pousada.example", PASSWORD) is None

    one_time = await directory.reset_password("ana@pousada.example", "admin@pousada.example")
    again = await directory.authenticate("ana@pousada.example", one_time)
    assert again is not None
    assert again.must_change_password
    assert not again.disabled
    with pytest.raises(UnknownAccount):
        await directory.disable("nobody@pousada.example", "admin@pousada.example")


async def test_sessions_end_when_idle_or_too_old(directory: StaffDirectory, clock: Clock) -> None:
    await ready(directory, "ana@pousada.example")
    account = await directory.authenticate("ana@pousada.example", PASSWORD)
    assert account is not None
    token = await directory.start_session(account, "192.0.2.1")
    signed = await directory.session(token, IDLE, ABSOLUTE)
    assert signed is not None
    assert signed.account.email == "ana@pousada.example"
    assert len(signed.csrf_token) >= 40
    assert token_hash(token) != token

    for _ in range(24):  # used every 29 minutes: never idle, until 12 hours have passed
        clock.advance(minutes=29)
        assert await directory.session(token, IDLE, ABSOLUTE) is not None
    clock.advance(minutes=29)
    assert await directory.session(token, IDLE, ABSOLUTE) is None

    idle = await directory.start_session(account, None)
    clock.advance(minutes=31)
    assert await directory.session(idle, IDLE, ABSOLUTE) is None
    assert await directory.session("never-issued-token-never-issued", IDLE, ABSOLUTE) is None


async def test_signing_out_everywhere_ends_every_session_of_the_account(
    directory: StaffDirectory,
) -> None:
    await ready(directory, "ana@pousada.example")
    await ready(directory, "bia@pousada.example")
    ana = await directory.authenticate("ana@pousada.example", PASSWORD)
    bia = await directory.authenticate("bia@pousada.example", PASSWORD)
    assert ana is not None
    assert bia is not None
    tokens = [await directory.start_session(ana, None) for _ in range(3)]
    other = await directory.start_session(bia, None)

    assert await directory.end_all_sessions(ana, None) == 3
    assert [await directory.session(t, IDLE, ABSOLUTE) for t in tokens] == [None] * 3
    assert await directory.session(other, IDLE, ABSOLUTE) is not None


async def test_linked_identities_give_roles_while_the_account_is_enabled(
    directory: StaffDirectory,
) -> None:
    await ready(directory, "ana@pousada.example", "admin")
    await ready(directory, "bia@pousada.example")
    await directory.link("ana@pousada.example", "slack:U0ANA", "cli")
    await directory.link("bia@pousada.example", "telegram:42", "cli")
    await directory.link("bia@pousada.example", "slack:U0ANA", "cli")  # moved to bia
    assert await directory.linked_roles() == {"slack:U0ANA": "staff", "telegram:42": "staff"}
    await directory.disable("bia@pousada.example", "cli")
    assert await directory.linked_roles() == {}
    assert await directory.unlink("telegram:42", "cli")
    assert not await directory.unlink("telegram:42", "cli")
    for bad in ("U0ANA", "slack:", "slack:U 1", "x" * 300):
        with pytest.raises(InvalidIdentity):
            await directory.link("ana@pousada.example", bad, "cli")


async def test_every_change_is_in_the_audit_log(directory: StaffDirectory, clock: Clock) -> None:
    await ready(directory, "ana@pousada.example")
    account = await directory.authenticate("ana@pousada.example", PASSWORD)
    assert account is not None
    clock.advance(seconds=1)
    await directory.start_session(account, "198.51.100.7")
    clock.advance(seconds=1)
    await directory.record("ana@pousada.example", "sign_in_failed", "ana@pousada.example", None)
    lines = await directory.audit_log()
    assert [line.action for line in lines] == [
        "sign_in_failed",
        "signed_in",
        "password_changed",
        "account_added",
    ]
    assert lines[1].address == "198.51.100.7"
    assert lines[3].details == {"role": "staff"}
    assert lines[3].actor == "test"
    assert lines[0].at.tzinfo is not None
