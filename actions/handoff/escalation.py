"""Offering a person before the guest has to ask: after two misunderstandings in a row, or at
once when a message sounds frustrated or angry (the ``frustration`` the understanding step
reads, 0 to 1). The offer's button opens an urgent handoff.

A pipeline step, after ``Understand``: it turns such a turn's intent into ``offer_person``,
which an open form answers as an interruption and then resumes. It also keeps the metrics of
the guests' mood: every message's frustration, and each conversation once when it turns sour.
"""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import CollectorRegistry, Counter, Histogram

from bot.core.context import Turn
from bot.core.pipeline import Next
from bot.core.types import TurnResult

OFFER_PERSON = "offer_person"
MISUNDERSTOOD = "out_of_scope"
MISUNDERSTOOD_IN_A_ROW = 2
FRUSTRATED = 0.5
_MISSES = "misunderstood_in_a_row"
_SOURED = "frustrated"


class MoodMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.frustration = Histogram(
            "rsv_guest_frustration",
            "How frustrated each guest message sounds (0 calm to 1 angry)",
            buckets=(0.1, 0.25, 0.5, 0.75, 0.9, 1.0),
            registry=registry,
        )
        self.soured = Counter(
            "rsv_frustrated_conversations",
            "Conversations with at least one frustrated message, counted once",
            registry=registry,
        )
        self.offers = Counter(
            "rsv_person_offers",
            "A person offered without being asked, by reason",
            ["reason"],
            registry=registry,
        )
        for reason in ("frustrated", "misunderstood"):
            self.offers.labels(reason=reason)


class Escalate:
    def __init__(self, metrics: MoodMetrics, threshold: float = FRUSTRATED) -> None:
        self._metrics = metrics
        self._threshold = threshold

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        parse, session = turn.parse, turn.session
        if parse is None or session is None or turn.message.text is None:
            return await call_next(turn)  # a button is never a misunderstanding
        frustration = float(parse.entities.get("frustration", 0.0))
        self._metrics.frustration.observe(frustration)
        frustrated = frustration >= self._threshold
        if frustrated and not session.data.get(_SOURED):
            session.data[_SOURED] = True
            self._metrics.soured.inc()
        earlier = int(session.data.pop(_MISSES, 0))  # kept only while misunderstandings go on
        # an answer to a form's question ("Maria Souza") reads as out of scope: not a miss
        missed = parse.intent == MISUNDERSTOOD and session.form is None
        misses = earlier + 1 if missed else 0
        if frustrated or misses >= MISUNDERSTOOD_IN_A_ROW:
            reason = "frustrated" if frustrated else "misunderstood"
            self._metrics.offers.labels(reason=reason).inc()
            entities = {**parse.entities, "reason": reason}
            turn.parse = replace(parse, intent=OFFER_PERSON, confidence=1.0, entities=entities)
        elif misses:
            session.data[_MISSES] = misses
        return await call_next(turn)
