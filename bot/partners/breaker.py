"""A circuit breaker per partner API, per process.

Closed: calls go through; ``failures`` failed calls in a row open it. Open: calls fail fast
(the client answers from the cache) for ``open_seconds``. Then half-open: one trial call goes
through while the others still fail fast; its success closes the circuit, its failure opens it
again. Per process on purpose: each worker learns of an outage by its own calls, and no shared
state can be lost or stuck across a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum


class BreakerState(IntEnum):
    """The values of the breaker-state gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(self, failures: int, open_seconds: float, monotonic: Callable[[], float]) -> None:
        self._threshold = failures
        self._open_seconds = open_seconds
        self._monotonic = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._monotonic() - self._opened_at < self._open_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only the one trial call may."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def failed(self) -> None:
        self._trial_running = False
        if self._opened_at is not None:  # the trial call failed: open again
            self._opened_at = self._monotonic()
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._monotonic()

    def release(self) -> None:
        """A call that was let through ended without a verdict (cancelled, or held back by our
        own rate limit): the half-open trial slot is free again."""
        self._trial_running = False
