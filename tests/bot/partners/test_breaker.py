"""The circuit breaker on a clock the test moves: opens after failures in a row, fails fast,
lets one trial call through when the wait is over, and closes or opens again by its verdict."""

from __future__ import annotations

from bot.partners.breaker import BreakerState, CircuitBreaker
from tests.support.clock import Ticks


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """Read afresh each time (the state moves with the clock and the calls)."""
    return breaker.state


def test_failures_in_a_row_open_it_and_a_success_between_resets_the_count() -> None:
    breaker = CircuitBreaker(3, 30, Ticks())
    for _ in range(2):
        breaker.failed()
    breaker.succeeded()
    for _ in range(2):
        breaker.failed()
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.allow()
    breaker.failed()
    assert state_of(breaker) is BreakerState.OPEN
    assert not breaker.allow()


def test_one_trial_call_after_the_wait_then_its_verdict() -> None:
    ticks = Ticks()
    breaker = CircuitBreaker(1, 30, ticks)
    breaker.failed()
    ticks.now += 29.9
    assert not breaker.allow()
    ticks.now += 0.2
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one trial only
    breaker.failed()
    assert state_of(breaker) is BreakerState.OPEN
    ticks.now += 31
    assert breaker.allow()
    breaker.succeeded()
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.allow()
    assert breaker.allow()


def test_a_trial_released_without_a_verdict_frees_the_slot() -> None:
    ticks = Ticks()
    breaker = CircuitBreaker(1, 30, ticks)
    breaker.failed()
    ticks.now += 31
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()
