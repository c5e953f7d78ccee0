"""The trained model behind the engine's ``Understanding`` seam."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.experiments import AssistStyle
from bot.core.types import Parse
from bot.steps.sessions import Session
from intents.entities import EntityExtractor
from intents.mood import MoodModel
from intents.serving import Reading

if TYPE_CHECKING:  # the LLM client (openai) is imported only when an LLM is configured
    from intents.assist import LlmAssist


class Reader(Protocol):
    """The intent model: the serving form in a worker, the scikit-learn model in training."""

    @property
    def threshold(self) -> float: ...

    def read(self, text: str) -> Reading: ...


LANGUAGE_CONFIDENCE = 0.75
"""Below this the text says too little of its language ("ok", "menu"): keep the conversation's."""

REMEMBERED_TEXTS = 4096
"""Readings kept per worker: greetings, thanks and buttons repeat, and a text's reading (its
intent, language and mood) depends on the text alone."""
REMEMBERED_LENGTH = 80
"""Longer texts rarely repeat; they are read every time rather than held."""


class ModelUnderstanding:
    def __init__(
        self,
        model: Reader,
        entities: EntityExtractor,
        today: Callable[[], date],
        assist: LlmAssist | None = None,
        mood: MoodModel | None = None,
    ) -> None:
        self._model = model
        self._entities = entities
        self._today = today
        self._assist = assist
        self._mood = mood
        self._remembered = lru_cache(maxsize=REMEMBERED_TEXTS)(self._read)

    def _read(self, text: str) -> tuple[Reading, float | None]:
        frustration = None if self._mood is None else round(self._mood.frustration(text), 3)
        return self._model.read(text), frustration

    async def parse(
        self,
        text: str,
        locale: str,
        session: Session | None = None,
        style: AssistStyle | None = None,
    ) -> Parse:
        remembered = len(text) <= REMEMBERED_LENGTH
        reading, frustration = self._remembered(text) if remembered else self._read(text)
        if reading.language.confidence >= LANGUAGE_CONFIDENCE:
            locale = reading.language.label
        intent = reading.intent
        today = self._today()
        entities: dict[str, Any] = self._entities.extract(text, locale, intent.label, today)
        if reading.topic:
            entities["topic"] = reading.topic
        name, confidence = intent.label, intent.confidence
        unsure = reading.rejected or confidence < self._model.threshold
        if self._assist is not None and unsure and not reading.topic:
            assisted = await self._assist.read(text, locale, today, style)
            if assisted is not None and assisted.confidence > confidence:
                name, confidence = assisted.intent, assisted.confidence
                entities = {
                    **self._entities.extract(text, locale, name, today),
                    **assisted.entity_values(),
                }
        if frustration is not None:  # 0 calm … 1 angry: actions may offer a person at once
            entities["frustration"] = frustration
        return Parse(name, round(confidence, 3), entities, locale)
