"""FAQ answers from the knowledge file, handoff requests and out-of-scope replies, end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml

from actions.booking.policy import CancellationPolicy
from actions.faq.knowledge import KNOWLEDGE_DIR
from actions.faq.topics import TopicFinder
from bot import Message, Reply
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings


@pytest.fixture
async def runtime(make_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    async with runtime_lifespan(build_runtime(make_settings())) as running:
        yield running


async def ask(
    runtime: Runtime, text: str | None = None, *, locale: str = "pt-BR", payload: str | None = None
) -> tuple[Reply, ...]:
    result = await runtime.engine.handle(
        Message("rest", "guest", "guest", text=text, payload=payload, locale_hint=locale)
    )
    assert result.status == "handled"
    return result.replies


@pytest.mark.parametrize(
    ("question", "locale", "answer"),
    [
        ("que horas é o check-in?", "pt-BR", "O check-in é a partir das 14h"),
        ("qual a senha do wifi??", "pt-BR", "senha: marazul2026"),
        ("posso levar meu cachorro?", "pt-BR", "Aceitamos pets"),
        ("what time is breakfast served", "en", "The caiçara breakfast is included"),
        ("is there parking at the pousada?", "en", "Free covered parking"),
        ("can I do a late checkout?", "en", "Late checkout until 3 pm"),
        ("hay piscina?", "es", "La piscina abre de 8 a 20 h"),
        ("aceptan niños?", "es", "¡Los niños son muy bienvenidos!"),
    ],
)
async def test_questions_are_answered_in_the_guests_language(
    runtime: Runtime, question: str, locale: str, answer: str
) -> None:
    (reply,) = await ask(runtime, question, locale=locale)
    assert answer in reply.text


async def test_the_address_comes_with_a_map_link(runtime: Runtime) -> None:
    (reply,) = await ask(runtime, "qual o endereço de vocês? como chego aí?")
    assert "Rua das Conchas, 120" in reply.text
    assert [(button.title, bool(button.url)) for button in reply.buttons] == [
        ("Abrir o mapa", True)
    ]


async def test_the_cancellation_rules_come_from_the_policy(runtime: Runtime) -> None:
    (reply,) = await ask(runtime, "do I lose the deposit if I cancel?", locale="en")
    assert reply.text == (
        "Cancellation policy of Pousada do Mar: free cancellation up to 7 days before check-in; "
        "50% back up to 2 days before; after that the amount paid is not refunded."
    )


async def test_the_questions_button_offers_topics_and_a_topic_button_answers(
    runtime: Runtime,
) -> None:
    (menu,) = await ask(runtime, payload="intent:faq")
    assert menu.text.startswith("O que você gostaria de saber sobre a Pousada do Mar?")
    wifi = next(button for button in menu.buttons if button.title == "Wi-Fi")
    assert wifi.payload == "intent:faq|topic=wifi"
    (answer,) = await ask(runtime, payload=wifi.payload)
    assert "PousadaDoMar" in answer.text


async def test_a_topic_the_property_did_not_answer_offers_a_person(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    shipped = yaml.safe_load((KNOWLEDGE_DIR / "pousada-do-mar.yaml").read_text(encoding="utf-8"))
    del shipped["answers"]["pool"]
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "pousada-do-mar.yaml").write_text(yaml.safe_dump(shipped))
    settings = make_settings(knowledge_dir=tmp_path / "knowledge")
    async with runtime_lifespan(build_runtime(settings)) as runtime:
        (reply,) = await ask(runtime, "a piscina é aquecida?")
    assert reply.text.startswith("Ainda não tenho essa informação sobre a Pousada do Mar")
    assert [button.payload for button in reply.buttons] == ["intent:human"]


async def test_asking_for_a_person_is_recorded_once(runtime: Runtime) -> None:
    (first,) = await ask(runtime, "quero falar com um atendente")
    (again,) = await ask(runtime, "cadê o humano???")
    assert first.text.startswith("Pronto: pedi para a nossa equipe falar com você.")
    assert again.text.startswith("Seu pedido já está com a nossa equipe")


async def test_out_of_scope_gets_a_polite_answer_and_the_menu(runtime: Runtime) -> None:
    (reply,) = await ask(runtime, "quem ganhou a copa de 2002?")
    assert reply.text.startswith("Isso está fora do que eu consigo ajudar")
    assert len(reply.buttons) == 4


@pytest.mark.parametrize(
    ("question", "locale", "answer"),
    [
        ("você é um robô?", "pt-BR", "um programa de computador, não uma pessoa"),
        ("who made you?", "en", "a computer program, not a person"),
        ("¿cómo te llamas?", "es", "un programa de computadora, no una persona"),
    ],
)
async def test_questions_about_the_bot_get_an_honest_answer_without_the_menu(
    runtime: Runtime, question: str, locale: str, answer: str
) -> None:
    (reply,) = await ask(runtime, question, locale=locale)
    assert answer in reply.text
    assert reply.buttons == ()


@pytest.mark.parametrize(
    ("question", "locale", "topic"),
    [
        ("late checkout é possível?", "pt_BR", "late_checkout"),
        ("que horas é o checkout", "pt_BR", "checkout"),
        ("perco o sinal se cancelar?", "pt_BR", "cancellation_policy"),
        ("where do I park my car", "en", "parking"),
        ("dónde queda la posada?", "es", "address"),
        ("qual o sentido da vida", "pt_BR", None),
    ],
)
def test_topics(question: str, locale: str, topic: str | None) -> None:
    assert TopicFinder().topic_of(question, locale) == topic


@pytest.mark.parametrize(
    ("days", "percent"), [(30, 100), (7, 100), (6, 50), (2, 50), (1, 0), (0, 0)]
)
def test_the_cancellation_policy_refund(days: int, percent: int) -> None:
    assert CancellationPolicy(7, 2, 50).refund_percent(days) == percent


def test_an_inconsistent_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="partial_until_days"):
        CancellationPolicy(free_until_days=2, partial_until_days=7, partial_refund_percent=50)


@pytest.mark.parametrize(
    ("question", "locale", "answers"),
    [
        ("quanto custa o café da manhã? aceita cachorro?", "pt-BR",
         ["O café da manhã caiçara está incluído", "Aceitamos pets"]),
        ("do you accept dogs? and what about parking?", "en",
         ["We welcome small and medium pets", "Free covered parking"]),
        ("¿hay wifi? ¿y a qué hora es el desayuno?", "es",
         ["El Wi-Fi es gratuito", "El desayuno caiçara está incluido"]),
    ],
)  # fmt: skip
async def test_several_questions_in_one_message_are_all_answered_in_order(
    runtime: Runtime, question: str, locale: str, answers: list[str]
) -> None:
    replies = await ask(runtime, question, locale=locale)
    assert len(replies) == len(answers)
    for reply, answer in zip(replies, answers, strict=True):
        assert answer in reply.text


@pytest.mark.parametrize(
    ("text", "locale", "topics"),
    [
        ("qual o endereço de vocês? como chego aí?", "pt_BR", ["address"]),
        ("check-in e check-out que horas?", "pt_BR", ["checkin", "checkout"]),
        ("pool? wifi? parking?", "en", ["pool", "wifi", "parking"]),
        ("hola, buenas tardes", "es", []),
    ],
)
def test_the_topics_of_a_message_come_in_the_order_asked_each_once(
    text: str, locale: str, topics: list[str]
) -> None:
    assert TopicFinder().topics_in(text, locale) == topics
