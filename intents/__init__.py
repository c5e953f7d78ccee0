"""Understanding guests and staff: text in, intent with confidence and entities out."""

from intents.keywords import KeywordUnderstanding

__all__ = ["KeywordUnderstanding"]
