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
        default=3.0,
        gt=0,
        description="Longest wait for one try of the LLM (one retry after a 429, 5xx or timeout) "
        "before the model's reading stands.",
    )
    transcription_model: str = Field(
        default="whisper-1",
        description="Model that transcribes voice notes at that endpoint (/audio/transcriptions).",
    )
    transcription_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Longest wait for one voice note's transcription."
    )
    voice_max_bytes: int = Field(
        default=2_000_000, gt=0, description="Largest voice note transcribed (bytes)."
    )
    voice_max_seconds: float = Field(
        default=120.0, gt=0, description="Longest voice note acted on (seconds)."
    )
    transcription_min_confidence: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Below this transcription confidence the bot repeats what it understood.",
    )
