"""Settings of the LLM that helps with unsure messages (``RSV_LLM_*``), read by
``bot.root.settings``."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class LlmSettings(BaseModel):
    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint that helps with unsure messages; off unset.",
    )
    api_key: SecretStr = Field(default=SecretStr("none"), description="API key of that endpoint.")
    model: str = Field(default="gpt-4o-mini", description="Model name asked at that endpoint.")
    timeout_seconds: float = Field(
        default=3.0, gt=0, description="Longest wait for the LLM before the model's reading stands."
    )
