"""Voice notes as text: the OpenAI-compatible endpoint's ``/audio/transcriptions``.

A channel that receives a voice note (WhatsApp audio, Telegram voice) hands ``heard`` how to
fetch it (within the size limit, else ``VoiceTooLarge``) and how to tell the guest something;
``heard`` asks ``Transcriber.transcribe`` and answers for every way it can go wrong, the same
on every channel. The answer is the text and whether the endpoint
was confident (the mean of the segments' ``avg_logprob``, as a probability): when it was not,
the channel says what it understood before answering. A note longer than the limit or with
nothing understood raises ``VoiceRefused``; the endpoint's own failures raise ``OpenAIError``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import structlog

if TYPE_CHECKING:
    from openai import AsyncOpenAI  # imported by the root only when an endpoint is set

log = structlog.get_logger("rsv360.voice")

RefusalReason = Literal["too_long", "unclear"]


class VoiceRefused(Exception):
    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(reason)
        self.reason = reason


class VoiceTooLarge(Exception):
    """The note is over the size or duration limit; it was not (fully) downloaded."""


Fetch = Callable[[], Awaitable[tuple[bytes, str]]]
"""Downloads the note: its bytes and content type."""
Say = Callable[[str, Mapping[str, Any]], Awaitable[None]]
"""Tells the guest a template (``channels/voice_…``) with its values, in their language."""


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


async def heard(
    transcriber: Transcriber | None, fetch: Fetch, say: Say, channel: str
) -> str | None:
    """The voice note's text, to handle as if typed; None when the guest was told why not."""
    if transcriber is None:
        await say("channels/voice_unavailable", {})
        return None
    try:
        transcript = await transcriber.transcribe(*await fetch())
    except VoiceTooLarge:
        await say("channels/voice_too_long", {})
        return None
    except VoiceRefused as refused:
        await say(f"channels/voice_{refused.reason}", {})
        return None
    except Exception as error:  # the provider's download or the endpoint: the guest can type
        log.warning("voice_note_failed", channel=channel, error=type(error).__name__)
        await say("channels/voice_unclear", {})
        return None
    if not transcript.confident:
        await say("channels/voice_understood", {"text": transcript.text})
    return transcript.text
