"""End to end through the engine: guests see the greeting experiment and what they do next
becomes goal events; staff ask how the test is doing (pt-BR, en, es) and get the summary and
the chart; guests asking are refused. PostgreSQL and both store backends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest

from actions.experiments.ledger import SqlLedger
from bot.core.experiments import Experiments
from bot.core.types import Message, Reply
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.support.databases import fresh_database
from tests.support.services import POSTGRESQL_URL

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def runtime(backend_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    await (await fresh_database(POSTGRESQL_URL)).close()
    settings = backend_settings(database_url=POSTGRESQL_URL)
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as running:
        yield running


async def say(runtime: Runtime, user: str, text: str, locale: str, role: str = "guest") -> Reply:
    result = await runtime.engine.handle(
        Message("web", user, user, text=text, locale_hint=locale, role=role)  # type: ignore[arg-type]
    )
    assert result.status == "handled"
    return result.replies[0]


async def test_what_a_guest_does_after_the_greeting_counts_for_its_variant(
    runtime: Runtime,
) -> None:
    experiment = runtime.services.get(Experiments).declared[0]
    await say(runtime, "g1", "oi, bom dia", "pt-BR")
    await say(runtime, "g1", "quero falar com um atendente", "pt-BR")
    await say(runtime, "g2", "oi", "pt-BR")
    ledger = SqlLedger(runtime.database)
    exposures = await ledger.exposures(experiment.key)
    assert len(exposures) == 2
    events = await ledger.conversions(experiment.key)
    assert sorted(row.event for row in events) == ["handoff", "replied"]
    first = next(row for row in exposures if row.subject == events[0].subject)
    assert {row.variant for row in events} == {first.variant}


QUESTIONS = {
    "pt-BR": ("como está o teste de saudação?", "Experimento greeting_tone", "Meta replied"),
    "en": ("how is the greeting test doing?", "Experiment greeting_tone", "Goal replied"),
    "es": ("¿cómo va la prueba del saludo?", "Experimento greeting_tone", "Objetivo replied"),
}


@pytest.mark.parametrize("locale", sorted(QUESTIONS))
async def test_staff_get_the_summary_and_a_chart(runtime: Runtime, locale: str) -> None:
    for number in range(6):
        await say(runtime, f"guest-{number}", "olá", "pt-BR")
        await say(runtime, f"guest-{number}", "obrigado", "pt-BR")
    question, opening, goal = QUESTIONS[locale]
    reply = await say(runtime, f"staff-{locale}", question, locale, role="staff")
    assert reply.text.startswith(opening)
    assert goal in reply.text
    replied = [tuple(map(int, pair)) for pair in re.findall(r"(\d+)/(\d+) =", reply.text)][:2]
    assert [sum(column) for column in zip(*replied, strict=True)] == [6, 6]
    assert reply.image is not None
    assert reply.image.media_key
    stored = await runtime.media.store.get(reply.image.media_key)
    assert stored is not None
    assert stored.data.startswith(PNG_SIGNATURE)


async def test_a_guest_asking_is_refused(runtime: Runtime) -> None:
    reply = await say(runtime, "curious", "como está o teste de saudação?", "pt-BR")
    assert reply.image is None
    assert "greeting_tone" not in reply.text
