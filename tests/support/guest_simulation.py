"""A guest simulation: guests who chat with the real app over its REST API through whole
journeys (a greeting and its menu, a holiday booking shorter than the season allows, taken from
the stays offered instead and confirmed, two questions in one message), in pt-BR, en and es,
each guest phrasing its messages its own way (the phrasings below, written as guests
type them). ``bench/guests.py`` runs many and reports;
``tests/test_guest_simulation.py`` runs each journey once per language.

A journey is data: what the guest says or presses, and what the bot's answer must hold. A step
that does not hold ends the journey as failed at that step, with the bot's answer kept."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import ClientSession

LANGUAGES = ("pt-BR", "en", "es")
PRICED = re.compile(r"\d.*(R\$|BRL)")


@dataclass(frozen=True, slots=True)
class Step:
    """Say one of ``says`` (guest number n says the n-th, round the list) or press the first
    button whose title matches ``press``; the bot's answer must contain each of ``expect``,
    and its buttons ``offers``."""

    says: tuple[str, ...] = ()
    press: str | None = None
    expect: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()


@dataclass
class Outcome:
    journey: str
    language: str
    steps: int
    failed_at: int | None = None
    answer: str = ""
    buttons: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.failed_at is None


@dataclass(frozen=True, slots=True)
class Words:
    """A language's ways of saying each thing, and the bot's words a step looks for."""

    hello: tuple[str, ...]
    menu: str
    new_year: tuple[str, ...]
    holiday: str
    minimum: str
    available: str
    room: str
    """A pattern of the rooms' names: a guest takes the first room offered."""
    names: tuple[str, ...]
    confirm: str
    two_questions: tuple[str, ...]
    two_answers: tuple[str, ...]


def journeys(language: str) -> dict[str, list[Step]]:
    words = WORDS[language]
    return {
        "greeting": [Step(says=words.hello, offers=(words.menu,))],
        "holiday": [
            Step(says=words.new_year, expect=(words.holiday + ":", words.minimum)),
            Step(press=PRICED.pattern, expect=(words.available,)),
            Step(press=words.room),
            Step(says=words.names),
            Step(says=("guest@example.com",), expect=("guest@example.com",)),
            Step(press=words.confirm, expect=("RSV-",)),
        ],
        "two_questions": [Step(says=words.two_questions, expect=words.two_answers)],
    }


WORDS: dict[str, Words] = {
    "pt-BR": Words(
        hello=("oi", "olá", "bom dia!", "boa noite"),
        menu="Reservar",
        new_year=("tem vaga pro réveillon na pousada do mar? somos um casal",
                     "réveillon na pousada do mar, casal",
                     "vcs tem quarto no ano novo na pousada do mar? eu e minha esposa"),
        holiday="Réveillon",
        minimum="estadia mínima",
        available="Disponível na Pousada do Mar",
        room="^(Quarto|Chalé)",
        names=("Maria Souza", "João Pereira", "Ana Lima"),
        confirm="^Confirmar",
        two_questions=("quanto custa o café da manhã? aceita cachorro?",),
        two_answers=("O café da manhã caiçara", "Aceitamos pets"),
    ),
    "en": Words(
        hello=("hello", "hi there", "good morning"),
        menu="Book a stay",
        new_year=("any room at pousada do mar for new year's eve? we are a couple",
                     "pousada do mar for new years eve, 2 adults"),
        holiday="New Year's Eve",
        minimum="minimum stay",
        available="Available at Pousada do Mar",
        room="(Room|Chalet)",
        names=("John Smith", "Emily Brown"),
        confirm="^Confirm",
        two_questions=("is breakfast included? do you accept dogs?",),
        two_answers=("The caiçara breakfast", "We welcome small and medium pets"),
    ),
    "es": Words(
        hello=("hola", "buenas tardes", "buen día"),
        menu="Reservar",
        new_year=("hay lugar en la pousada do mar para año nuevo? somos una pareja",
                     "pousada do mar para año nuevo, dos adultos"),
        holiday="Año Nuevo",
        minimum="estadía mínima",
        available="Disponible en Pousada do Mar",
        room="^(Habitación|Chalé)",
        names=("Lucía Pérez", "Carlos Gómez"),
        confirm="^Confirmar",
        two_questions=("¿el desayuno está incluido? ¿aceptan perros?",),
        two_answers=("El desayuno caiçara", "Aceptamos mascotas"),
    ),
}  # fmt: skip


class Guest:
    """One simulated guest on the REST API: its own user id, language and way of phrasing."""

    def __init__(
        self, http: ClientSession, base_url: str, user: str, language: str, number: int
    ) -> None:
        self._http = http
        self._url = f"{base_url}/api/v1/messages"
        self._user = user
        self._language = language
        self._number = number
        self._buttons: list[dict[str, str]] = []

    async def walk(self, name: str, steps: Sequence[Step]) -> Outcome:
        outcome = Outcome(name, self._language, len(steps))
        for number, step in enumerate(steps, start=1):
            if step.press is not None:
                chosen = next(
                    (
                        b
                        for b in self._buttons
                        if "payload" in b and re.search(step.press, b["title"])
                    ),
                    None,
                )
                if chosen is None:
                    outcome.failed_at = number
                    return outcome
                answer = await self._send({"payload": chosen["payload"]})
            else:
                answer = await self._send({"text": step.says[self._number % len(step.says)]})
            outcome.answer, outcome.buttons = answer, [b["title"] for b in self._buttons]
            held = all(expected in answer for expected in step.expect) and all(
                offered in outcome.buttons for offered in step.offers
            )
            if not held:
                outcome.failed_at = number
                return outcome
        return outcome

    async def _send(self, content: dict[str, str]) -> str:
        document = {"user_id": self._user, "locale": self._language, **content}
        async with self._http.post(self._url, json=document) as answer:
            if answer.status != 200:
                self._buttons = []
                return f"HTTP {answer.status}: {await answer.text()}"
            replies = (await answer.json())["replies"]
        self._buttons = [button for reply in replies for button in reply["buttons"]]
        return "\n".join(reply["text"] for reply in replies)


async def simulate(
    http: ClientSession, base_url: str, guests_per_journey: int, run: str = "sim"
) -> list[Outcome]:
    """Every journey in every language, ``guests_per_journey`` guests each, one after another
    (guest n phrases each message its n-th way)."""
    outcomes = []
    for language in LANGUAGES:
        for name, steps in journeys(language).items():
            for number in range(guests_per_journey):
                user = f"{run}-{language}-{name}-{number}"
                guest = Guest(http, base_url, user, language, number)
                outcomes.append(await guest.walk(name, steps))
    return outcomes
