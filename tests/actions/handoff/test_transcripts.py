"""Transcripts on SQLite and PostgreSQL: lines kept in order with the conversation's last one
for the list, paging newest first, a conversation erased staying erased, and the purge; noted
lines written together, a line that cannot be written losing only itself."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from actions.handoff.tables import TranscriptLine
from actions.handoff.transcripts import PREVIEW_CHARS, Said, Transcripts, plain_text, preview
from bot.stores.database import Database
from tests.support.clock import NOW, Clock
from tests.support.statements import Statements


@pytest.fixture
def transcripts(database: Database) -> Transcripts:
    return Transcripts(database, Clock(NOW))


async def test_lines_are_kept_in_order_and_the_last_one_is_shown(
    transcripts: Transcripts,
) -> None:
    await transcripts.record("web", "g1", [Said("guest", "oi")], locale="pt_BR", at=NOW)
    later = NOW + timedelta(seconds=5)
    long_reply = "Olá! " + "muito texto " * 30
    await transcripts.record(
        "web", "g1", [Said("bot", "primeira"), Said("bot", long_reply)], at=later
    )
    await transcripts.record("web", "g1", [Said("guest", None)], locale="en", at=later)
    await transcripts.record("web", "g1", [Said("staff", "Aqui é a Ana", "ana@example.com")])

    found = await transcripts.find("web", "g1")
    assert found is not None
    assert (found.key, found.locale, found.lines, found.started_at) == ("web:g1", "en", 5, NOW)
    assert (found.last_role, found.last_text) == ("staff", "Aqui é a Ana")
    lines = await transcripts.lines(found.id, 10)
    assert [(line.role, line.text) for line in lines] == [
        ("guest", "oi"),
        ("bot", "primeira"),
        ("bot", long_reply),
        ("guest", None),
        ("staff", "Aqui é a Ana"),
    ]
    assert lines[-1].author == "ana@example.com"
    assert [line.text for line in await transcripts.lines(found.id, 2)] == [None, "Aqui é a Ana"]


async def test_pages_come_newest_first_and_say_whether_older_ones_follow(
    transcripts: Transcripts,
) -> None:
    for number in range(5):
        at = NOW + timedelta(minutes=number)
        await transcripts.record("rest", f"u{number}", [Said("guest", str(number))], at=at)
    await transcripts.record("rest", "u0", [Said("bot", "again")], at=NOW + timedelta(hours=1))

    first, older = await transcripts.page(1, 2)
    assert ([c.conversation_id for c in first], older) == (["u0", "u4"], True)
    last, older = await transcripts.page(3, 2)
    assert ([c.conversation_id for c in last], older) == (["u1"], False)
    assert await transcripts.page(4, 2) == ([], False)


async def test_an_erased_conversation_is_not_begun_again_by_late_replies(
    transcripts: Transcripts,
) -> None:
    await transcripts.record("web", "g1", [Said("guest", "apagar meus dados")])
    assert await transcripts.forget("web", "g1") == 1
    await transcripts.record("web", "g1", [Said("bot", "Pronto, apaguei.")], create=False)
    assert await transcripts.find("web", "g1") is None
    assert await transcripts.forget("web", "g1") == 0
    assert await transcripts.count() == 0


async def test_the_purge_erases_conversations_silent_since_before_the_limit(
    transcripts: Transcripts,
) -> None:
    await transcripts.record("web", "old", [Said("guest", "a"), Said("bot", "b")], at=NOW)
    recent = NOW + timedelta(days=30)
    await transcripts.record("web", "recent", [Said("guest", "c")], at=recent)
    assert await transcripts.purge(NOW + timedelta(days=1)) == 1
    assert await transcripts.find("web", "old") is None
    kept = await transcripts.find("web", "recent")
    assert kept is not None
    assert [line.text for line in await transcripts.lines(kept.id, 10)] == ["c"]


async def stored_lines(database: Database) -> int:
    """The lines in the table, read past the transcripts (which write what is noted first)."""
    async with database.session() as session:
        return int(await session.scalar(select(func.count(TranscriptLine.id))) or 0)


@pytest.fixture
def patient(database: Database) -> Transcripts:
    """Transcripts that never write on their own timer within a test."""
    return Transcripts(database, Clock(NOW), flush_seconds=3600)


async def test_noted_lines_wait_and_are_written_together_in_order(
    patient: Transcripts, database: Database
) -> None:
    for number in range(30):
        patient.note("rest", f"u{number % 3}", [Said("guest", f"m{number}")], locale="pt_BR")
        patient.note("rest", f"u{number % 3}", [Said("bot", f"r{number}")], create=False)
    assert await stored_lines(database) == 0

    await patient.flush()

    assert await stored_lines(database) == 60
    found = await patient.find("rest", "u1")
    assert found is not None
    assert found.lines == 20
    lines = await patient.lines(found.id)
    assert [line.text for line in lines[:4]] == ["m1", "r1", "m4", "r4"]
    assert (found.last_role, found.last_text) == ("bot", "r28")


async def test_a_hundred_conversations_begun_at_once_cost_a_few_statements(
    patient: Transcripts, database: Database
) -> None:
    """Under load every statement waits for a turn of the busy event loop: one per
    conversation held SQLite's one writer for 16 s when a hundred guests arrived at once. On
    PostgreSQL each statement runs once (not once per row, an executemany, whose work per line
    was twice what the line itself costs), and finding 101 conversations reads as finding 100,
    so that PostgreSQL plans it once."""
    patient.note("web", "g0", [Said("guest", "já conversávamos")], locale="pt_BR")
    await patient.flush()
    for number in range(100):
        patient.note("web", f"g{number}", [Said("guest", f"oi {number}")], locale="es")
        patient.note("web", f"g{number}", [Said("bot", f"olá {number}")])
    with Statements(database) as statements:
        await patient.flush()

    run = [kind for kind in statements.run if kind != "BEGIN"]
    if database.is_sqlite:
        assert run == ["SELECT", "INSERT*", "SELECT", "INSERT*", "UPDATE*"]
    else:
        assert run == ["SELECT", "INSERT", "SELECT", "INSERT", "UPDATE"]
        finding_all, finding_begun = statements.of("SELECT")
        assert finding_all == finding_begun
    assert await stored_lines(database) == 201
    older, newer = await patient.find("web", "g0"), await patient.find("web", "g99")
    assert older is not None
    assert newer is not None
    assert (older.lines, older.locale, older.started_at) == (3, "es", NOW)
    assert (newer.lines, newer.last_role, newer.last_text) == (2, "bot", "olá 99")
    assert newer.locale == "es"


async def test_readers_and_erasure_see_what_is_noted(patient: Transcripts) -> None:
    patient.note("web", "g1", [Said("guest", "apagar meus dados")])
    assert (await patient.page(1, 10))[0][0].key == "web:g1"
    patient.note("web", "g1", [Said("guest", "de novo")])
    assert await patient.forget("web", "g1") == 2
    patient.note("web", "g1", [Said("bot", "Pronto, apaguei.")], create=False)
    assert await patient.count() == 0


async def test_closing_writes_what_is_noted(database: Database) -> None:
    transcripts = Transcripts(database, Clock(NOW), flush_seconds=3600)
    transcripts.note("web", "g1", [Said("guest", "oi")])
    await transcripts.close()
    assert await stored_lines(database) == 1


async def test_noted_lines_are_written_on_their_own_soon(database: Database) -> None:
    transcripts = Transcripts(database, Clock(NOW), flush_seconds=0.01)
    transcripts.note("web", "g1", [Said("guest", "oi")])
    for _ in range(500):  # the timer's write, awaited without flushing it ourselves
        if await stored_lines(database) == 1:
            break
        await asyncio.sleep(0.01)
    assert await stored_lines(database) == 1


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_line_that_cannot_be_written_loses_only_itself(
    patient: Transcripts, database: Database
) -> None:
    patient.note("web", "g1", [Said("guest", "antes")])
    patient.note("web", "g2", [Said("guest", "nul \x00 byte")])  # PostgreSQL refuses NUL in text
    patient.note("web", "g3", [Said("guest", "depois")])
    await patient.flush()
    assert await stored_lines(database) == 2
    assert await patient.find("web", "g2") is None


def test_previews_are_one_short_line() -> None:
    assert preview("  two\n lines ") == "two lines"
    cut = preview("x" * 500)
    assert len(cut) == PREVIEW_CHARS
    assert cut.endswith("\N{HORIZONTAL ELLIPSIS}")


def test_html_replies_are_kept_as_the_guest_read_them() -> None:
    assert plain_text("<b>Café</b> &amp; <a href='x'>mapa</a><br>até já") == "Café & mapa\naté já"
