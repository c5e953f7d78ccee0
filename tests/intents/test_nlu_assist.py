"""The optional LLM assist against a local server that answers like OpenAI's chat API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.experiments import AssistStyle
from bot.partners.client import PartnerClient
from bot.root.app import build_understanding
from bot.root.settings import Settings
from tests.support.partners import Workers, sample

TODAY = date(2026, 12, 2)


@dataclass
class FakeOpenAI:
    """Answers ``POST /v1/chat/completions`` with the next scripted reply."""

    replies: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    compressed: list[bool] = field(default_factory=list)
    """Whether each answer went out gzipped (a reply with ``gzip``, to a client that takes it)."""

    async def completions(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        reply = self.replies.pop(0) if self.replies else {"status": 500}
        if "sleep" in reply:
            await asyncio.sleep(reply["sleep"])
        if "status" in reply:
            return web.json_response(
                {"error": {"message": "boom", "type": "server_error", "code": None}},
                status=reply["status"],
            )
        response = web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": self.requests[-1]["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": json.dumps(reply["content"])},
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )
        gzip = bool(reply.get("gzip")) and "gzip" in request.headers.get("Accept-Encoding", "")
        if gzip:
            response.enable_compression(web.ContentCoding.gzip)
        self.compressed.append(gzip)
        return response


@pytest.fixture
async def fake_openai() -> AsyncIterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/v1"))
    await server.close()


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    """Workers whose partner clients (the LLM's calls go through them) run on a clock the
    test owns."""
    built = Workers("memory")
    yield built
    await built.close()


@pytest.fixture
def partners(workers: Workers) -> PartnerClient:
    return workers.client()


def assisted(
    make_settings: Callable[..., Settings],
    base_url: str,
    partners: PartnerClient,
    **overrides: Any,
) -> Any:
    settings = make_settings(
        **overrides, llm={"base_url": base_url, "model": "local-test-model", "timeout_seconds": 1.0}
    )
    return build_understanding(settings, partners, lambda: TODAY)


async def test_an_unsure_message_takes_the_llms_validated_reading(
    make_settings: Callable[..., Settings],
    fake_openai: tuple[FakeOpenAI, str],
    partners: PartnerClient,
) -> None:
    fake, url = fake_openai
    fake.replies.append(
        {
            "content": {
                "intent": "book",
                "confidence": 0.93,
                "entities": {"checkin": "2026-12-20", "nights": 3, "adults": 2},
            }
        }
    )
    understanding = assisted(make_settings, url, partners, nlu_threshold=0.99)
    parse = await understanding.parse("lalala dia vinte tres noites nós dois", "pt_BR")
    assert (parse.intent, parse.confidence) == ("book", 0.93)
    entities = {key: value for key, value in parse.entities.items() if key != "frustration"}
    assert entities == {"checkin": "2026-12-20", "nights": 3, "adults": 2}
    request = fake.requests[0]
    assert request["model"] == "local-test-model"
    assert request["response_format"]["type"] == "json_schema"
    assert "Today is 2026-12-02" in request["messages"][0]["content"]
    assert request["messages"][1] == {
        "role": "user",
        "content": "lalala dia vinte tres noites nós dois",
    }


@pytest.mark.parametrize(
    "reply",
    [
        {"content": {"intent": "party", "confidence": 0.99, "entities": {}}},
        {"content": {"intent": "book", "confidence": 7, "entities": {}}},
        {"content": {"intent": "book", "confidence": 0.9, "entities": {"booking_code": "X"}}},
        {"status": 400},
    ],
    ids=["unknown-label", "confidence-out-of-range", "bad-entity", "client-error"],
)
async def test_an_invalid_llm_answer_leaves_the_models_reading(
    make_settings: Callable[..., Settings],
    fake_openai: tuple[FakeOpenAI, str],
    partners: PartnerClient,
    reply: Any,
) -> None:
    fake, url = fake_openai
    fake.replies.append(reply)
    understanding = assisted(make_settings, url, partners, nlu_threshold=0.99)
    parse = await understanding.parse("quanto é 2+2", "pt_BR")
    assert parse.intent == "out_of_scope"
    assert fake.requests


async def test_a_failing_or_slow_llm_is_retried_once_then_ignored_in_bounded_time(
    make_settings: Callable[..., Settings],
    fake_openai: tuple[FakeOpenAI, str],
    partners: PartnerClient,
) -> None:
    fake, url = fake_openai
    fake.replies.extend([{"status": 503}, {"sleep": 3, "content": {}}])
    understanding = assisted(make_settings, url, partners, nlu_threshold=0.99)
    started = time.monotonic()
    parse = await understanding.parse("quanto é 2+2", "pt_BR")
    assert parse.intent == "out_of_scope"
    assert len(fake.requests) == 2
    assert time.monotonic() - started < 4


async def test_a_gzipped_answer_is_read_once_decompressed(
    make_settings: Callable[..., Settings],
    fake_openai: tuple[FakeOpenAI, str],
    partners: PartnerClient,
) -> None:
    fake, url = fake_openai
    fake.replies.append(
        {"gzip": True, "content": {"intent": "book", "confidence": 0.93, "entities": {}}}
    )
    understanding = assisted(make_settings, url, partners, nlu_threshold=0.99)
    assert (await understanding.parse("lalala dia vinte", "pt_BR")).intent == "book"
    assert fake.compressed == [True]


async def test_a_confident_message_never_asks_the_llm(
    make_settings: Callable[..., Settings],
    fake_openai: tuple[FakeOpenAI, str],
    partners: PartnerClient,
) -> None:
    fake, url = fake_openai
    understanding = assisted(make_settings, url, partners, nlu_threshold=0.3)
    parse = await understanding.parse("quero reservar um quarto de 20 a 23 de dezembro", "pt_BR")
    assert parse.intent == "book"
    assert fake.requests == []


async def test_an_experiments_variant_sets_the_prompt_and_parameters_under_the_same_guardrails(
    make_settings: Callable[..., Settings],
    fake_openai: tuple[FakeOpenAI, str],
    partners: PartnerClient,
) -> None:
    fake, url = fake_openai
    fake.replies.extend(
        [
            {"content": {"intent": "book", "confidence": 0.9, "entities": {}}},
            {"content": {"intent": "party", "confidence": 0.99, "entities": {}}},
        ]
    )
    understanding = assisted(make_settings, url, partners, nlu_threshold=0.99)
    style = AssistStyle("nlu/assist_system", temperature=0.7, top_p=0.9)
    parse = await understanding.parse("lalala dia vinte", "pt_BR", None, style)
    assert parse.intent == "book"
    assert (fake.requests[0]["temperature"], fake.requests[0]["top_p"]) == (0.7, 0.9)
    still_guarded = await understanding.parse("quanto é 2+2", "pt_BR", None, style)
    assert still_guarded.intent == "out_of_scope"
    assert fake.requests[1]["temperature"] == 0.7


async def test_an_llm_down_opens_its_circuit_and_is_not_asked_until_it_may_be_back(
    make_settings: Callable[..., Settings], fake_openai: tuple[FakeOpenAI, str], workers: Workers
) -> None:
    fake, url = fake_openai  # no reply scripted: every request gets a 500
    understanding = assisted(
        make_settings, url, workers.client(breaker_failures=2), nlu_threshold=0.99
    )
    for _ in range(2):
        assert (await understanding.parse("quanto é 2+2", "pt_BR")).intent == "out_of_scope"
    assert len(fake.requests) == 4  # each message: one try and one retry
    registry = workers.registries[0]
    assert sample(registry, "rsv_partner_api_breaker_state", api="llm") == 2
    assert (await understanding.parse("quanto é 2+2", "pt_BR")).intent == "out_of_scope"
    assert len(fake.requests) == 4  # open: the model's reading stands at once
    assert sample(registry, "rsv_partner_api_skipped_total", api="llm", reason="breaker_open") == 1
    workers.ticks.now += 30.0  # RSV_PARTNERS_BREAKER_OPEN_SECONDS
    fake.replies.append({"content": {"intent": "book", "confidence": 0.93, "entities": {}}})
    assert (await understanding.parse("lalala dia vinte", "pt_BR")).intent == "book"
    assert sample(registry, "rsv_partner_api_breaker_state", api="llm") == 0
    assert sample(registry, "rsv_partner_api_calls_total", api="llm", result="server_error") == 4
    assert sample(registry, "rsv_partner_api_calls_total", api="llm", result="ok") == 1


async def test_over_the_llm_limit_the_models_reading_stands_without_asking(
    make_settings: Callable[..., Settings], fake_openai: tuple[FakeOpenAI, str], workers: Workers
) -> None:
    fake, url = fake_openai
    fake.replies.extend(
        [{"content": {"intent": "book", "confidence": 0.93, "entities": {}}} for _ in range(2)]
    )
    understanding = assisted(
        make_settings, url, workers.client({"llm": "1/minute"}), nlu_threshold=0.99
    )
    assert (await understanding.parse("lalala dia vinte", "pt_BR")).intent == "book"
    assert (await understanding.parse("lalala dia vinte", "pt_BR")).intent != "book"
    assert len(fake.requests) == 1
    registry = workers.registries[0]
    assert sample(registry, "rsv_partner_api_skipped_total", api="llm", reason="rate_limited") == 1
