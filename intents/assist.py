"""Optional help from an OpenAI-compatible LLM for messages the model is unsure about.

The LLM only reads: its answer is validated against the label set and the entity schema, and
any failure (timeout, refusal, malformed output) leaves the model's own reading in place.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import structlog
from jinja2 import Environment
from openai import AsyncOpenAI, OpenAIError
from pydantic import BaseModel, Field, ValidationError, field_validator

from bot.core.experiments import AssistStyle
from intents.dataset import LABELS

log = structlog.get_logger("rsv360.nlu")


class AssistEntities(BaseModel):
    checkin: date | None = None
    checkout: date | None = None
    nights: int | None = Field(default=None, ge=1, le=60)
    adults: int | None = Field(default=None, ge=1, le=30)
    children: int | None = Field(default=None, ge=0, le=20)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    booking_code: str | None = Field(default=None, pattern=r"^RSV-[A-Z0-9]{6}$")


class AssistReading(BaseModel):
    intent: str
    confidence: float = Field(ge=0.0, le=1.0)
    entities: AssistEntities = Field(default_factory=AssistEntities)

    @field_validator("intent")
    @classmethod
    def _known_label(cls, value: str) -> str:
        if value not in LABELS:
            raise ValueError(f"unknown intent {value!r}")
        return value

    def entity_values(self) -> dict[str, Any]:
        values = self.entities.model_dump(exclude_none=True)
        return {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in values.items()
        }


class LlmAssist:
    def __init__(
        self, client: AsyncOpenAI, model: str, prompts: Environment, prompt: str, timezone: str
    ) -> None:
        self._client = client
        self._model = model
        self._prompts = prompts
        self._prompt = prompt
        """The system prompt's template (``nlu/assist_system``); an experiment's variant may
        choose another one and other parameters (``AssistStyle``)."""
        self._timezone = timezone

    async def read(
        self, text: str, locale: str, today: date, style: AssistStyle | None = None
    ) -> AssistReading | None:
        system_prompt = self._prompts.get_template(f"{style.prompt if style else self._prompt}.j2")
        system = system_prompt.render(
            today=today.isoformat(), locale=locale, timezone=self._timezone
        )
        parameters: dict[str, float] = {"temperature": style.temperature if style else 0.0}
        if style is not None and style.top_p is not None:
            parameters["top_p"] = style.top_p
        try:
            completion = await self._client.chat.completions.parse(
                model=self._model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
                response_format=AssistReading,
                **parameters,  # type: ignore[arg-type]
            )
            reading = completion.choices[0].message.parsed
        except (OpenAIError, ValidationError, ValueError) as error:
            log.warning("nlu_assist_failed", error=type(error).__name__)
            return None
        if reading is None:
            log.warning("nlu_assist_refused")
        return reading
