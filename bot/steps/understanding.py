"""The seam between the engine and whatever understands text (the trained model in `intents`);
a button's payload is read by ``bot.core.buttons`` instead."""

from __future__ import annotations

from typing import Protocol

from bot.core.buttons import parse_payload
from bot.core.context import Turn
from bot.core.experiments import AssistStyle, Experiments
from bot.core.observability import pseudonym
from bot.core.pipeline import Next
from bot.core.types import Parse, TurnResult
from bot.steps.sessions import Session

ASSIST_PROMPT = "nlu/assist_system"
"""The LLM's system prompt: an experiment on this template varies how the LLM reads."""


class Understanding(Protocol):
    async def parse(
        self,
        text: str,
        locale: str,
        session: Session | None = None,
        style: AssistStyle | None = None,
    ) -> Parse:
        """Intent, confidence, entities and the locale the text is written in; ``style``: the
        LLM's prompt and parameters for an unsure message (an experiment's variant).

        Entities may include ``control`` ("cancel" or "restart"), which forms obey.
        """


class Understand:
    """Pipeline step: parses the message; text without a locale hint may switch the locale.

    With ``experiments`` (given when an LLM is configured), a user who writes text is exposed
    to the experiment on the LLM's prompt, if one runs: every text counts, the unsure ones
    reach the LLM (an intent-to-treat comparison, see docs/experiments.md)."""

    def __init__(
        self, understanding: Understanding, experiments: Experiments | None = None
    ) -> None:
        self._understanding = understanding
        self._experiments = experiments

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        message, session = turn.message, turn.session
        assert session is not None, "Understand runs after Order (which loads the session)"
        if message.payload is not None:
            turn.parse = parse_payload(message.payload, session.locale)
        else:
            text = message.text or ""
            style = await self._style(turn) if self._experiments is not None else None
            turn.parse = await self._understanding.parse(text, session.locale, session, style)
            if message.locale_hint is None:
                session.locale = turn.parse.locale
            session.remember("guest", text, turn.parse.intent)
        return await call_next(turn)

    async def _style(self, turn: Turn) -> AssistStyle | None:
        assert self._experiments is not None
        assert turn.session is not None
        message = turn.message
        exposure = await self._experiments.expose(
            ASSIST_PROMPT,
            pseudonym(f"{message.channel}:{message.user_id}"),
            pseudonym(turn.conversation_key),
            turn.session,
            turn.received_at,
        )
        return AssistStyle.of(ASSIST_PROMPT, exposure)
