"""The whole pipeline, driven through the engine on in-process stores and on real Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from actions.handoff.escalation import OFFER_PERSON
from actions.services import Services
from bot import Context, Message, Outcome, Router
from bot.core.observability import configure_logging
from bot.core.types import STAFF, TurnResult
from bot.root.app import build_runtime, runtime_lifespan
from bot.root.settings import Settings
from intents.dataset import LABELS
from tests.support.services import REDIS_URL


def message(text: str | None = None, *, user: str = "u1", **fields: object) -> Message:
    values: dict[str, object] = {
        "channel": "rest",
        "conversation_id": user,
        "user_id": user,
        "text": text,
    }
    values.update(fields)
    return Message(**values)  # type: ignore[arg-type]


async def send(settings: Settings, *messages: Message) -> list[TurnResult]:
    async with runtime_lifespan(build_runtime(settings)) as runtime:
        return [await runtime.engine.handle(each) for each in messages]


async def test_greets_in_the_language_of_the_hint(
    backend_settings: Callable[..., Settings],
) -> None:
    pt, en, es = await send(
        backend_settings(),
        message("oi", user="a", locale_hint="pt-BR"),
        message("hello", user="b", locale_hint="en-US"),
        message("hola", user="c", locale_hint="es-AR"),
    )
    assert pt.replies[0].text.startswith(("Olá", "Oi"))
    assert en.replies[0].text.startswith(("Hello", "Hi"))
    assert es.replies[0].text.startswith("¡Hola")
    assert [button.title for button in pt.replies[0].buttons] == [
        "Reservar",
        "Dúvidas",
        "Minhas reservas",
        "Falar com uma pessoa",
    ]


async def test_the_session_keeps_the_locale_between_turns(
    backend_settings: Callable[..., Settings],
) -> None:
    _, second = await send(
        backend_settings(), message("hello", locale_hint="en"), message("ok... menu")
    )
    assert second.replies[0].text.startswith("Here is what I can do")


async def test_a_redelivered_update_gets_no_second_answer(
    backend_settings: Callable[..., Settings],
) -> None:
    first, again, other = await send(
        backend_settings(),
        message("oi", update_id="42"),
        message("oi", update_id="42"),
        message("oi", update_id="43"),
    )
    assert first.status == "handled"
    assert first.replies
    assert again == TurnResult("duplicate")
    assert other.status == "handled"


async def test_the_101st_message_in_a_minute_is_refused_once_then_silently(
    backend_settings: Callable[..., Settings],
) -> None:
    results = await send(
        backend_settings(),
        *[message(f"oi {n}", update_id=str(n)) for n in range(103)],
        message("oi", user="someone-else"),
    )
    assert all(result.status == "handled" for result in results[:100])
    refused, flood, other_user = results[100], results[101:103], results[103]
    assert refused.status == "rate_limited"
    assert refused.retry_after is not None
    assert 0 < refused.retry_after <= 60
    assert len(refused.replies) == 1
    assert "rápido demais" in refused.replies[0].text
    assert [result.status for result in flood] == ["rate_limited", "rate_limited"]
    assert all(result.replies == () for result in flood)
    assert other_user.status == "handled"


async def test_an_intent_category_has_its_own_limit(
    backend_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    limits = tmp_path / "limits.yaml"
    limits.write_text(
        "default:\n  messages: 100/minute\n  help: 2/minute\nintents:\n  help: help\n"
    )
    results = await send(
        backend_settings(rate_limits_file=limits),
        *[message("menu") for _ in range(3)],
        message("oi"),
    )
    assert [result.status for result in results] == [
        "handled",
        "handled",
        "rate_limited",
        "handled",
    ]


async def test_a_failing_action_is_answered_with_an_apology(
    make_settings: Callable[..., Settings],
) -> None:
    router: Router[Services] = Router("failing")

    @router.intent("greet")
    async def explode(context: Context[Services]) -> Outcome:
        raise RuntimeError("boom")

    async with runtime_lifespan(build_runtime(make_settings(), override=router)) as runtime:
        failed = await runtime.engine.handle(message("oi"))
    assert failed.status == "failed"
    assert failed.replies[0].text.startswith("Desculpe, algo deu errado")


async def test_an_intent_kept_for_staff_is_refused_to_a_guest_and_logged(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    router: Router[Services] = Router("staff")

    @router.intent("greet", roles=STAFF)
    async def staff_greeting(context: Context[Services]) -> Outcome:
        return Outcome("smalltalk/thanks")

    configure_logging("json", "INFO")
    async with runtime_lifespan(build_runtime(make_settings(), override=router)) as runtime:
        guest = await runtime.engine.handle(message("oi", locale_hint="en"))
        staff = await runtime.engine.handle(message("oi", user="s", role="staff"))
        admin = await runtime.engine.handle(message("oi", user="a", role="admin"))
    assert guest.replies[0].text.startswith("Sorry, that is only available to the hotel's team")
    assert not staff.replies[0].text.startswith("Desculpe, isso")
    assert staff.replies == admin.replies
    refusals = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if "intent_refused" in line
    ]
    assert [(entry["intent"], entry["role"]) for entry in refusals] == [("greet", "guest")]


async def test_two_engines_sharing_redis_handle_a_conversation_in_arrival_order(
    make_settings: Callable[..., Settings], redis: object
) -> None:
    handled: list[str] = []
    running = 0
    most_running = 0

    def recording_router() -> Router[Services]:
        router: Router[Services] = Router("recording")

        # Nonsense texts read as misunderstandings, and every second one becomes an offer of
        # a person (actions.handoff.escalation): record those too.
        @router.intent(*LABELS, OFFER_PERSON)
        async def record(context: Context[Services]) -> Outcome:
            nonlocal running, most_running
            running += 1
            most_running = max(most_running, running)
            await asyncio.sleep(0.002)
            handled.append(context.message.text or "")
            running -= 1
            return Outcome("smalltalk/thanks")

        return router

    settings = make_settings(redis_url=REDIS_URL, rate_limits_file=_no_limits(make_settings))
    engines = [build_runtime(settings, CollectorRegistry(), recording_router()) for _ in range(2)]
    async with runtime_lifespan(engines[0]), runtime_lifespan(engines[1]):
        texts = [f"m{n:02d}" for n in range(50)]
        results = await asyncio.gather(
            *(
                engines[n % 2].engine.handle(message(text, user="shared"))
                for n, text in enumerate(texts)
            )
        )
    assert all(result.status == "handled" for result in results)
    assert most_running == 1
    assert sorted(handled) == texts


def _no_limits(make_settings: Callable[..., Settings]) -> Path:
    path = make_settings().data_dir / "limits.yaml"
    path.write_text("default:\n  messages: 10000/minute\n")
    return path


async def test_metrics_count_turns(make_settings: Callable[..., Settings]) -> None:
    registry = CollectorRegistry()
    async with runtime_lifespan(build_runtime(make_settings(), registry)) as runtime:
        await runtime.engine.handle(message("oi", update_id="1"))
        await runtime.engine.handle(message("oi", update_id="1"))
    value = registry.get_sample_value
    assert (
        value("rsv_messages_total", {"channel": "rest", "intent": "greet", "status": "handled"})
        == 1
    )
    assert value("rsv_dedupe_hits_total", {"channel": "rest"}) == 1
    assert value("rsv_turn_seconds_count", {"channel": "rest"}) == 2


async def test_logs_carry_no_message_text_nor_raw_ids(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", "INFO")
    secret_text = "meu email é maria@example.com e o telefone +55 11 91234-5678"
    router: Router[Services] = Router("second_turn_fails")
    turns = 0

    @router.intent(*LABELS)
    async def explode(context: Context[Services]) -> Outcome:
        nonlocal turns
        turns += 1
        if turns == 2:
            raise ValueError(context.message.text)
        return Outcome("smalltalk/thanks")

    async with runtime_lifespan(build_runtime(make_settings(), override=router)) as runtime:
        await runtime.engine.handle(message(secret_text, user="maria@example.com"))
        await runtime.engine.handle(message(secret_text, user="maria@example.com"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    lines = [line for line in lines if line["event"] in ("turn", "turn_failed")]
    assert [line["event"] for line in lines] == ["turn", "turn_failed", "turn"]
    assert lines[2]["status"] == "failed"
    assert "exception" in lines[1]
    logged = json.dumps(lines)
    assert "maria" not in logged
    assert "91234" not in logged
