"""The skeleton every provider channel is built on (channels/provider.py, channels/background.py),
without a provider: the bound on work in flight, drain, contained failures, the sender's role,
the over-long-text rule and replies that stop at the first one lost. The providers' own tests
drive the same skeleton through their SDKs."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from bot.core.observability import Metrics
from bot.core.render import Renderer
from bot.core.roles import RoleBook
from bot.core.types import Message, Reply, TurnResult
from bot.outbound.delivery import Courier, DeliveryQueue, Pace, UnreachableStore
from bot.root.settings import PACKAGE_ROOT
from bot.stores.memory import MemoryValueStore
from channels.background import BackgroundWork
from channels.provider import Inbound, ProviderChannel

TOO_LONG = {
    "pt_BR": "A mensagem é longa demais. Envie uma mais curta, por favor.",
    "en": "The message is too long. Please send a shorter one.",
}


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_no_more_than_the_limit_runs_at_once_and_start_waits_for_a_slot() -> None:
    work = BackgroundWork("test", limit=2)
    gate = asyncio.Event()
    running: list[int] = []
    most = 0

    async def turn(number: int) -> None:
        nonlocal most
        running.append(number)
        most = max(most, len(running))
        await gate.wait()
        running.remove(number)

    await work.start(turn(1))
    await work.start(turn(2))
    third = asyncio.create_task(work.start(turn(3)))
    await settle()
    assert running == [1, 2]
    assert not third.done(), "the caller waits (Telegram's webhook holds its answer back)"
    gate.set()
    await asyncio.wait_for(third, 1)
    await work.drain()
    assert most == 2
    assert running == []


async def test_drain_waits_for_the_work_and_for_work_started_meanwhile() -> None:
    work = BackgroundWork("test", limit=1)
    done: list[str] = []

    async def later() -> None:
        await asyncio.sleep(0.05)
        done.append("later")

    async def first() -> None:
        await asyncio.sleep(0.05)
        done.append("first")
        starting = asyncio.create_task(work.start(later()))
        await asyncio.sleep(0)  # registered, waiting for the slot this turn holds
        assert not starting.done()

    await work.start(first())
    await work.drain()
    assert done == ["first", "later"]


async def test_a_failing_turn_is_contained_and_logged_and_the_others_go_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = BackgroundWork("test", limit=1)
    done: list[str] = []

    async def fails() -> None:
        raise RuntimeError("a bug in the adapter")

    async def fine() -> None:
        done.append("fine")

    capsys.readouterr()
    await work.start(fails())
    await work.start(fine())
    await work.drain()
    assert done == ["fine"], "the slot the failure held was given back"
    out = capsys.readouterr().out
    assert "channel_work_failed" in out
    assert "RuntimeError" in out


def test_the_bound_must_let_something_run() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BackgroundWork("test", limit=0)


class Engine:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle(self, message: Message) -> TurnResult:
        self.messages.append(message)
        return TurnResult("handled", (Reply("one"), Reply("two")))


def skeleton(engine: Engine, max_text_chars: int = 10) -> ProviderChannel:
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    metrics = Metrics(CollectorRegistry())

    async def send(destination: str, reply: Reply) -> None:
        raise AssertionError("replies to a turn go through the channel's answer")

    courier = Courier("test", send, Pace(0.0), metrics, UnreachableStore(MemoryValueStore()))
    queue = DeliveryQueue(courier)
    roles = RoleBook(staff=["test:group:front-desk"], admins=["test:u9"])
    return ProviderChannel("test", engine, renderer, roles, queue, max_text_chars)


class Answers:
    def __init__(self, *sent: bool) -> None:
        self.replies: list[str] = []
        self._sent = list(sent)

    async def __call__(self, reply: Reply) -> bool:
        self.replies.append(reply.text)
        return self._sent.pop(0) if self._sent else True


async def test_the_message_carries_the_senders_role_and_every_reply_is_answered() -> None:
    engine = Engine()
    channel, answers = skeleton(engine), Answers()
    staff = Inbound("c1", "u1", "7", text="oi", locale_hint="en", groups=("front-desk",))
    await channel.turn(staff, answers)
    await channel.turn(Inbound("c1", "u9", "8", payload="intent:help"), answers)
    await channel.turn(Inbound("c2", "u2", "9", text="oi"), answers)
    assert [m.role for m in engine.messages] == ["staff", "admin", "guest"]
    first = engine.messages[0]
    assert (first.channel, first.conversation_id, first.user_id) == ("test", "c1", "u1")
    assert (first.text, first.locale_hint, first.update_id) == ("oi", "en", "7")
    assert engine.messages[1].payload == "intent:help"
    assert answers.replies == ["one", "two"] * 3


@pytest.mark.parametrize(("hint", "locale"), [(None, "pt_BR"), ("en-US", "en"), ("pt", "pt_BR")])
async def test_text_over_the_limit_gets_the_polite_reply_in_the_senders_language(
    hint: str | None, locale: str
) -> None:
    engine = Engine()
    channel, answers = skeleton(engine, max_text_chars=10), Answers()
    await channel.turn(Inbound("c1", "u1", "1", text="x" * 10, locale_hint=hint), answers)
    assert len(engine.messages) == 1, "at the limit it goes to the engine"
    answers.replies.clear()
    await channel.turn(Inbound("c1", "u1", "2", text="x" * 11, locale_hint=hint), answers)
    assert len(engine.messages) == 1, "over it, it never reaches the engine"
    assert answers.replies == [TOO_LONG[locale]]


async def test_replies_stop_at_the_first_one_not_sent(capsys: pytest.CaptureFixture[str]) -> None:
    channel = skeleton(Engine())
    lost = Answers(False)
    capsys.readouterr()
    await channel.turn(Inbound("c1", "u1", "1", text="oi"), lost)
    assert lost.replies == ["one"], "the second would arrive out of context"
    assert "channel_reply_lost" in capsys.readouterr().out

    async def refused(reply: Reply) -> bool:
        raise RuntimeError("the provider said no")

    await channel.turn(Inbound("c1", "u1", "2", text="oi"), refused)
    out = capsys.readouterr().out
    assert "channel_reply_failed" in out
    assert "RuntimeError" in out
