"""A job's declaration, apart from the queue that runs it: capabilities declare their jobs
without loading the queue's broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Callable[..., Awaitable[object]]
    every_seconds: float | None = None
    """Enqueued that often (by the process holding the schedule); None: only when asked."""
