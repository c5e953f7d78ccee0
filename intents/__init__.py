"""Understanding guests and staff: text in, intent with confidence, entities and locale out."""

from intents.understanding import ModelUnderstanding

__all__ = ["ModelUnderstanding"]
