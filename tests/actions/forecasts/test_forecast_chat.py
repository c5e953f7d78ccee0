"""Staff ask for forecasts in chat (pt-BR, en, es) and get a summary and a chart; guests are
refused; answers are cached per model version and counted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from actions.forecasts.desk import ForecastDesk
from bot.core.types import Address, Message, Reply
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.support.forecasts import PNG_SIGNATURE
from tests.support.services import REDIS_URL
from tests.support.waiting import until


@pytest.fixture
async def runtime(
    backend_settings: Callable[..., Settings], trained: Path
) -> AsyncIterator[Runtime]:
    settings = backend_settings(forecast={"models_dir": trained})
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as running:
        yield running


async def ask(runtime: Runtime, text: str, locale: str, role: str = "staff") -> Reply:
    result = await runtime.engine.handle(
        Message(
            "web", f"{role}-{locale}", f"{role}-{locale}", text=text, locale_hint=locale, role=role
        )  # type: ignore[arg-type]
    )
    assert result.status == "handled"
    assert len(result.replies) == 1
    return result.replies[0]


async def chart_of(runtime: Runtime, reply: Reply) -> bytes:
    assert reply.image is not None
    assert reply.image.media_key
    assert reply.image.url.endswith(f"/media/{reply.image.media_key}")
    assert reply.image.alt
    stored = await runtime.media.store.get(reply.image.media_key)
    assert stored is not None
    assert stored.content_type == "image/png"
    assert stored.data.startswith(PNG_SIGNATURE)
    return stored.data


QUESTIONS = {
    "pt-BR": [
        ("previsão de ocupação de dezembro na Pousada do Mar",
         "Previsão de ocupação da Pousada do Mar", "Modelo demand-"),
        ("quais reservas dessa semana devem cancelar?",
         "Modelo cancellation-", "Modelo cancellation-"),
        ("preço sugerido pro feriado", "Diárias sugeridas na Pousada do Mar", "ocupação prevista"),
    ],
    "en": [
        ("occupancy forecast for next month at Pousada do Mar",
         "Occupancy forecast for Pousada do Mar", "Model demand-"),
        ("which bookings this week are likely to cancel?",
         "Model cancellation-", "Model cancellation-"),
        ("what price should we charge next week?",
         "Suggested nightly rates at Pousada do Mar", "occupancy forecast"),
    ],
    "es": [
        ("previsión de ocupación de diciembre en la Pousada do Mar",
         "Previsión de ocupación de Pousada do Mar", "Modelo demand-"),
        ("¿qué reservas de esta semana pueden cancelarse?",
         "Modelo cancellation-", "Modelo cancellation-"),
        ("¿qué precio cobrar la semana que viene?",
         "Tarifas por noche sugeridas en Pousada do Mar", "ocupación prevista"),
    ],
}  # fmt: skip


@pytest.mark.parametrize("locale", sorted(QUESTIONS))
async def test_staff_get_a_summary_and_a_chart_in_their_language(
    runtime: Runtime, locale: str
) -> None:
    for question, opening, detail in QUESTIONS[locale]:
        reply = await ask(runtime, question, locale)
        assert opening in reply.text, reply.text
        assert detail in reply.text, reply.text
        await chart_of(runtime, reply)


async def test_the_price_reason_names_forecast_and_usual_occupancy(runtime: Runtime) -> None:
    reply = await ask(runtime, "what rate should we charge next week?", "en")
    reasons = [line for line in reply.text.splitlines() if line.startswith("• ")]
    assert len(reasons) == 3  # one per room type of the demo pousada
    for line in reasons:
        assert "occupancy forecast" in line
        assert "% usual → " in line


async def test_a_guest_asking_for_a_forecast_is_refused_politely(runtime: Runtime) -> None:
    reply = await ask(
        runtime, "previsão de ocupação de dezembro na Pousada do Mar", "pt-BR", role="guest"
    )
    assert reply.image is None
    assert "Modelo" not in reply.text
    assert reply.text.startswith("Desculpe, isso")


async def test_answers_are_cached_per_version_and_counted(runtime: Runtime) -> None:
    registry = runtime.metrics.registry
    first = await ask(runtime, "which bookings this week are likely to cancel?", "en")
    second = await ask(runtime, "which bookings this week are likely to cancel?", "en")
    assert second == first
    events = "rsv_cache_events_total"
    assert registry.get_sample_value(events, {"kind": "forecast", "event": "miss"}) == 1
    assert registry.get_sample_value(events, {"kind": "forecast", "event": "computed"}) == 1
    assert registry.get_sample_value(events, {"kind": "forecast", "event": "hit"}) == 1
    assert registry.get_sample_value("rsv_cache_hit_ratio", {"kind": "forecast"}) == 0.5
    other_language = await ask(runtime, "¿qué reservas de esta semana pueden cancelarse?", "es")
    assert other_language.image != first.image


MODELS = ("cancellation", "demand")


async def test_a_fresh_install_trains_as_a_job_and_then_answers(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(forecast={"models_dir": tmp_path / "empty-registry"})
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as runtime:
        waiting = await ask(runtime, "occupancy forecast for next week", "en")
        assert "being trained" in waiting.text
        assert waiting.image is None
        forecasts = runtime.services.get(ForecastDesk)
        assert forecasts is not None
        # The training job runs in the process (no Redis): the models appear when it is done.
        await until(lambda: all(forecasts.version(name) for name in MODELS), seconds=600)
        answered = await ask(runtime, "occupancy forecast for next week", "en")
        assert "Model demand-" in answered.text
        await chart_of(runtime, answered)


async def test_where_job_workers_run_apart_the_answer_follows_from_a_worker(
    make_settings: Callable[..., Settings], trained: Path
) -> None:
    """The web worker hands the question over; a job worker (another runtime on the same Redis)
    computes it and sends it to the chat it came from; asked again, the web worker answers at
    once from the shared cache."""
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    settings = make_settings(
        redis_url=REDIS_URL, forecast={"models_dir": trained}, jobs={"in_serve": False}
    )
    sent: list[tuple[Address, Reply]] = []

    async def chat(address: Address, replies: Sequence[Reply]) -> bool:
        sent.extend((address, reply) for reply in replies)
        return True

    async with (
        runtime_lifespan(build_runtime(settings), upkeep=False) as web,
        runtime_lifespan(build_runtime(settings), upkeep=True) as worker,
    ):
        worker.notifier.register("staff-chat", chat)
        question = Message(
            "staff-chat", "room-7", "ana", text="occupancy forecast for next month", role="staff"
        )  # type: ignore[arg-type]
        handed_over = await web.engine.handle(question)
        assert [reply.text for reply in handed_over.replies] == [
            "Working out that forecast for Pousada do Mar: I will send it here in a moment."
        ]
        await until(lambda: bool(sent), seconds=120)
        [(address, answer)] = sent
        assert address == Address("staff-chat", "room-7")
        assert "Occupancy forecast for Pousada do Mar" in answer.text
        assert "Model demand-" in answer.text
        await chart_of(web, answer)  # published where every worker finds it
        again = await web.engine.handle(replace(question, update_id="again"))
        assert [reply.text for reply in again.replies] == [answer.text]
        assert len(sent) == 1
