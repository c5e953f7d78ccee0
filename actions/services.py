"""What actions can reach besides the message: built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actions.faq import Faq


@dataclass(frozen=True, slots=True)
class Services:
    brand: str
    faq: Faq
