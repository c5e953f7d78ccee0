"""A local OpenAI-compatible ``/v1/audio/transcriptions``: each audio (by its bytes) has a
scripted transcript, duration and confidence; anything else is an error, as a real endpoint
answers audio it cannot decode."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Said:
    text: str
    confidence: float = 0.95
    seconds: float = 4.0


@dataclass
class FakeTranscription:
    scripts: dict[bytes, Said] = field(default_factory=dict)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    """The model asked and the audio, per request."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/audio/transcriptions", self._transcribe)
        return app

    async def _transcribe(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"error": {"message": "no key"}}, status=401)
        fields = await request.post()
        upload = fields.get("file")
        audio = upload.file.read() if hasattr(upload, "file") else b""
        self.received.append((str(fields.get("model")), audio))
        said = self.scripts.get(audio)
        if said is None or fields.get("response_format") != "verbose_json":
            return web.json_response({"error": {"message": "could not decode audio"}}, status=400)
        logprob = math.log(said.confidence)
        return web.json_response(
            {
                "task": "transcribe",
                "language": "portuguese",
                "duration": said.seconds,
                "text": said.text,
                "segments": [
                    {
                        "id": 0,
                        "seek": 0,
                        "start": 0.0,
                        "end": said.seconds,
                        "text": said.text,
                        "tokens": [1, 2],
                        "temperature": 0.0,
                        "avg_logprob": logprob,
                        "compression_ratio": 1.0,
                        "no_speech_prob": 0.01,
                    }
                ],
            }
        )
