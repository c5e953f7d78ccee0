"""Turning outcomes into the replies of one channel, and the safety net around every turn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import replace

import structlog

from bot.core.context import Turn
from bot.core.experiments import CONTROL, Experiments
from bot.core.observability import Metrics, pseudonym
from bot.core.pipeline import Next
from bot.core.render import Markup, Renderer
from bot.core.types import Outcome, Reply, TurnResult

log = structlog.get_logger("rsv360.engine")


class Responder:
    def __init__(
        self,
        renderer: Renderer,
        experiments: Experiments,
        markups: Mapping[str, Markup],
        metrics: Metrics,
    ) -> None:
        self._renderer = renderer
        self._experiments = experiments
        self._markups = markups
        self._metrics = metrics

    def locale_of(self, turn: Turn) -> str:
        if turn.session is not None:
            return turn.session.locale
        return self._renderer.locale_for(turn.message.locale_hint)

    def plain(self, turn: Turn, outcome: Outcome) -> Reply:
        """``outcome`` in the hinted locale, without the session or experiments."""
        locale = self._renderer.locale_for(turn.message.locale_hint)
        markup = self._markups.get(turn.message.channel, "plain")
        return self._renderer.render(outcome, locale, markup)

    async def replies(self, turn: Turn, outcomes: Sequence[Outcome]) -> tuple[Reply, ...]:
        locale = self.locale_of(turn)
        markup = self._markups.get(turn.message.channel, "plain")
        subject = pseudonym(f"{turn.message.channel}:{turn.message.user_id}")
        conversation = pseudonym(turn.conversation_key)
        replies = []
        for outcome in outcomes:
            variant = None
            if turn.session is not None:
                exposure = await self._experiments.expose(
                    outcome.template, subject, conversation, turn.session, turn.received_at
                )
                if exposure is not None and exposure.recorded:
                    self._metrics.exposures.labels(exposure.experiment, exposure.variant).inc()
                if exposure is not None and exposure.shown is not None:
                    outcome = with_buttons(outcome, exposure.shown.buttons)
                    if exposure.variant != CONTROL and exposure.shown.own_template:
                        variant = exposure.variant
            replies.append(self._renderer.render(outcome, locale, markup, variant))
        return tuple(replies)


def with_buttons(outcome: Outcome, labels: Sequence[str] | None) -> Outcome:
    """The outcome offering the buttons of ``labels`` in that order (those the action asked
    for; a label it did not ask for has no payload to offer, so it is left out)."""
    if labels is None:
        return outcome
    asked = {choice.label: choice for choice in outcome.choices}
    return replace(outcome, choices=tuple(asked[label] for label in labels if label in asked))


class Recover:
    """Outermost step: a failing turn is logged and answered with an apology, never dropped.

    The apology cannot fail in turn: what broke the turn (a store, the session, text that does
    not encode) may break the usual rendering too, so it falls back to the plain template in
    the hinted locale, and at worst to no reply rather than an exception."""

    def __init__(self, responder: Responder) -> None:
        self._responder = responder

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        try:
            return await call_next(turn)
        except Exception:
            _log_failure("turn_failed", turn)
        try:
            return TurnResult("failed", await self._responder.replies(turn, [APOLOGY]))
        except Exception:
            _log_failure("apology_failed", turn)
        try:
            return TurnResult("failed", (self._responder.plain(turn, APOLOGY),))
        except Exception:
            _log_failure("apology_failed", turn)
            return TurnResult("failed")


APOLOGY = Outcome("engine/error")


def _log_failure(event: str, turn: Turn) -> None:
    with suppress(Exception):  # a logger that fails must not take the apology with it
        log.exception(
            event, channel=turn.message.channel, conversation=pseudonym(turn.conversation_key)
        )
