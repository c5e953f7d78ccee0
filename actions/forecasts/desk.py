"""The forecast desk: which models are promoted, training when none is, and the answers.

Serving uses the promoted version of each model. When none is promoted yet (a fresh install),
the first question starts training in a worker thread (the demo's synthetic history is made
first when missing) and is told to ask again in a moment; the versions trained that way are
promoted at once.

This module is light on purpose: the figures and charts (pandas, matplotlib, scikit-learn) are
computed by the heavy half (:class:`Forecasting`), in this process where the forecast stack
belongs (a job worker) or in a child process a web worker starts on the first question
(:mod:`actions.forecasts.apart`), so a web worker never holds them (docs/benchmarks.md,
"Memory per worker"). Words stay here: the heavy half gets the chart's words rendered and
returns figures, whose sentences and alt text the desk renders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from actions.booking.tables import Product, Property
from actions.forecasts.cache import AnswerCache, cache_key
from actions.forecasts.price_rules import PriceRules, PriceRulesSource
from actions.forecasts.registry import MODELS, Registry
from bot.core.types import Address, Image, Outcome
from bot.outbound.media import MediaLibrary
from bot.stores.database import Database

if TYPE_CHECKING:
    from actions.forecasts.questions import Question

Words = Callable[[str, str, Mapping[str, Any]], str]
"""(template, locale, values) → text: chart words and alt texts in the staff's language."""
CANCELLATION, DEMAND = MODELS
CHART_WORDS = ("forecast", "interval", "last_year", "on_books", "occupancy", "probability",
               "suggested", "usual", "rate")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Place:
    """A property as the answers need it: its rooms (code → units, names per locale)."""

    slug: str
    name: str
    currency: str
    units: dict[str, float]
    names: dict[str, dict[str, str]]

    def room_names(self, locale: str) -> dict[str, str]:
        return {
            code: names.get(locale) or next(iter(names.values()))
            for code, names in self.names.items()
        }

    @property
    def rooms(self) -> float:
        return sum(self.units.values())


@dataclass(frozen=True, slots=True)
class Asked:
    """One question as the heavy half needs it; all of it pickles (it may cross to a child
    process)."""

    question: Question
    place: Place
    locale: str
    today: date
    chart_words: dict[str, str]
    rules: PriceRules | None
    """The property's price limits in force (the console may have replaced the file's)."""


@dataclass(frozen=True, slots=True)
class Answer:
    template: str
    values: dict[str, Any]
    png: bytes | None = None


class Forecasting(Protocol):
    """The heavy half: trains the missing models and computes answers."""

    async def train_missing(self, today: date) -> None: ...

    async def answer(self, asked: Asked) -> Answer: ...


class ForecastDesk:
    def __init__(
        self,
        database: Database,
        registry: Registry,
        price_rules: PriceRulesSource,
        cache: AnswerCache,
        words: Words,
        demo_property: str,
        media: MediaLibrary,
        heavy_half: Callable[[], Forecasting],
        train_later: Callable[[], Awaitable[None]],
        hand_over: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        """``heavy_half`` makes the heavy half on the first question or training;
        ``train_later`` enqueues the job that trains the missing models (``train_missing``);
        ``hand_over`` enqueues the job that answers a question (``answer_forecast``), or is None
        when the web worker answers in the turn."""
        self.database = database
        self._media = media
        self._hand_over = hand_over
        self.registry = registry
        self.price_rules = price_rules
        self.cache = cache
        self._words = words
        self.default_property = demo_property
        self._make_heavy_half = heavy_half
        self._heavy_half: Forecasting | None = None
        self._train_later = train_later
        self._training_asked = False

    # -- models -------------------------------------------------------------------------------

    def version(self, name: str) -> str | None:
        return self.registry.promoted(name)

    @staticmethod
    def model_for(kind: str) -> str:
        """The model that answers a question of this kind."""
        return CANCELLATION if kind == "cancellation" else DEMAND

    async def ready(self, today: date) -> bool:
        """Whether both models are promoted; when not, training is asked of the job queue."""
        if all(self.version(name) for name in MODELS):
            return True
        if not self._training_asked:
            self._training_asked = True
            await self._train_later()
        return False

    async def train_missing(self, today: date) -> None:
        """The job: one process trains at a time, and finds done what another did first."""
        async with self.database.one_process_at_a_time("forecast_training"):
            await self.heavy_half().train_missing(today)

    def heavy_half(self) -> Forecasting:
        if self._heavy_half is None:
            self._heavy_half = self._make_heavy_half()
        return self._heavy_half

    # -- answers ------------------------------------------------------------------------------

    async def place(self, found: Property) -> Place:
        async with self.database.session() as session:
            products = (
                await session.scalars(
                    select(Product).where(Product.property_id == found.id, Product.kind == "room")
                )
            ).all()
        return Place(
            found.slug,
            found.name,
            found.currency,
            {p.code: float(p.units) for p in products},
            {p.code: dict(p.names) for p in products},
        )

    @property
    def answers_later(self) -> bool:
        return self._hand_over is not None

    async def answer_later(self, slug: str, question: Question, locale: str, to: Address) -> None:
        """Hand the question to the job worker, which sends the answer to ``to``."""
        assert self._hand_over is not None
        await self._hand_over(
            {
                "slug": slug,
                "locale": locale,
                "channel": to.channel,
                "conversation": to.conversation_id,
                **question.as_arguments(),
            }
        )

    def answer_key(self, slug: str, question: Question, locale: str) -> str:
        """The cache key of the answer: per property, promoted version (and, for prices, the
        price limits in force), period and language."""
        period = f"{question.kind}:{question.start.isoformat()}:{question.end.isoformat()}"
        version = self.version(self.model_for(question.kind)) or ""
        if question.kind == "price":
            version = f"{version}+{self.price_rules.fingerprint(slug)}"
        return cache_key(slug, version, period, locale)

    async def cached(self, slug: str, question: Question, locale: str) -> Outcome | None:
        """The answer already computed (by any worker), if it is still kept."""
        found = await self.cache.peek(self.answer_key(slug, question, locale))
        return None if found is None else _outcome(found)

    async def answer(
        self, found: Property, question: Question, locale: str, today: date
    ) -> Outcome:
        """The answer with its chart, computed once across workers and kept for a while."""

        async def compute() -> dict[str, Any]:
            asked = Asked(
                question,
                await self.place(found),
                locale,
                today,
                self._chart_words(locale),
                self.price_rules.rules(found.slug),
            )
            answer = await self.heavy_half().answer(asked)
            stored: dict[str, Any] = {"template": answer.template, "values": answer.values}
            if answer.png is not None:
                alt = self._words("forecasts/alt", locale, {"kind": question.kind, **answer.values})
                image = await self._media.publish(answer.png, "image/png", alt)
                stored["image"] = {"url": image.url, "alt": image.alt, "media_key": image.media_key}
            return stored

        return _outcome(
            await self.cache.answer(self.answer_key(found.slug, question, locale), compute)
        )

    def _chart_words(self, locale: str) -> dict[str, str]:
        lines = self._words("forecasts/chart_words", locale, {}).splitlines()
        return dict(zip(CHART_WORDS, (line.strip() for line in lines if line.strip()), strict=True))


def _outcome(stored: Mapping[str, Any]) -> Outcome:
    image = Image(**stored["image"]) if stored.get("image") else None
    return Outcome(stored["template"], stored["values"], image=image)
