"""Voice notes as text through the real ``openai`` SDK against a local transcription endpoint:
the confidence comes from the segments, and the limits and failures are refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from openai import AsyncOpenAI, BadRequestError

from channels.voice import Transcriber, VoiceRefused
from tests.fakes.transcription import FakeTranscription, Said


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[FakeTranscription, AsyncOpenAI]]:
    fake = FakeTranscription()
    server = TestServer(fake.app())
    await server.start_server()
    client = AsyncOpenAI(base_url=str(server.make_url("/v1")), api_key="sk-local", max_retries=0)
    yield fake, client
    await client.close()
    await server.close()


async def test_a_clear_note_is_its_text_and_confident(
    endpoint: tuple[FakeTranscription, AsyncOpenAI],
) -> None:
    fake, client = endpoint
    fake.scripts[b"OggS-1"] = Said("  quero   reservar ", confidence=0.9)
    transcript = await Transcriber(client, "whisper-1", 60, 0.6).transcribe(b"OggS-1", "audio/ogg")
    assert transcript.text == "quero reservar"
    assert transcript.confidence == pytest.approx(0.9)
    assert transcript.confident
    assert fake.received == [("whisper-1", b"OggS-1")]


async def test_a_mumbled_note_is_not_confident(
    endpoint: tuple[FakeTranscription, AsyncOpenAI],
) -> None:
    fake, client = endpoint
    fake.scripts[b"OggS-2"] = Said("quero reservar", confidence=0.4)
    transcript = await Transcriber(client, "whisper-1", 60, 0.6).transcribe(b"OggS-2", "audio/ogg")
    assert not transcript.confident


async def test_too_long_empty_and_undecodable_notes_are_refused(
    endpoint: tuple[FakeTranscription, AsyncOpenAI],
) -> None:
    fake, client = endpoint
    transcriber = Transcriber(client, "whisper-1", 60, 0.6)
    fake.scripts[b"long"] = Said("blá " * 100, seconds=61)
    fake.scripts[b"silent"] = Said("   ")
    with pytest.raises(VoiceRefused, match="too_long"):
        await transcriber.transcribe(b"long", "audio/ogg")
    with pytest.raises(VoiceRefused, match="unclear"):
        await transcriber.transcribe(b"silent", "audio/ogg")
    with pytest.raises(BadRequestError):
        await transcriber.transcribe(b"noise", "audio/ogg")
