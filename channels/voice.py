"""Voice notes as text: the OpenAI-compatible endpoint's ``/audio/transcriptions``.

A channel that receives a voice note (WhatsApp audio, Telegram voice) downloads it within the
size limit and asks ``Transcriber.transcribe``. The answer is the text and whether the endpoint
was confident (the mean of the segments' ``avg_logprob``, as a probability): when it was not,
the channel says what it understood before answering. A note longer than the limit or with
nothing understood raises ``VoiceRefused``; the endpoint's own failures raise ``OpenAIError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from openai import AsyncOpenAI

RefusalReason = Literal["too_long", "unclear"]


class VoiceRefused(Exception):
    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    confidence: float
    confident: bool


class Transcriber:
    def __init__(
        self, client: AsyncOpenAI, model: str, max_seconds: float, min_confidence: float
    ) -> None:
        self._client = client
        self._model = model
        self._max_seconds = max_seconds
        self._min_confidence = min_confidence

    async def transcribe(self, audio: bytes, content_type: str) -> Transcript:
        extension = content_type.split(";")[0].split("/")[-1] or "ogg"
        result = await self._client.audio.transcriptions.create(
            model=self._model,
            file=(f"voice.{extension}", audio, content_type),
            response_format="verbose_json",
        )
        if result.duration > self._max_seconds:
            raise VoiceRefused("too_long")
        text = " ".join(result.text.split())
        if not text:
            raise VoiceRefused("unclear")
        segments = result.segments or []
        confidence = (
            math.exp(sum(segment.avg_logprob for segment in segments) / len(segments))
            if segments
            else 1.0
        )
        return Transcript(text, confidence, confidence >= self._min_confidence)
