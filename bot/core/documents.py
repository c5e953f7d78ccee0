"""Settings documents (YAML) as their owners check them: one error type that names the field
and the reason, and the YAML reader that names the line of a syntax error.

The repo's files and the overrides an admin saves in the console go through the same parsers,
each living with the code that uses the value (``RatePolicy.from_document``,
``parse_knowledge``, ``parse_rules``, ``parse_routing``, ``parse_experiments``).
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DOCUMENT_CHARS = 64 * 1024
"""A settings document larger than this is refused: the repo's largest is under 8 KiB."""


class DocumentError(ValueError):
    """A settings document that cannot be used; ``where`` is the field path (``edges.rest``)
    or the line (``line 7``), ``reason`` what is wrong with it."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.where = where
        self.reason = reason


def read_yaml(text: str) -> Any:
    """The YAML document in ``text``; ``DocumentError`` naming the line of a syntax error."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError("", f"the document is over {MAX_DOCUMENT_CHARS // 1024} KiB")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(error, "problem", None) or error
        raise DocumentError(line, f"not YAML ({problem})") from None


def mapping(value: Any, where: str) -> dict[str, Any]:
    """``value`` when it is a mapping with text keys (None: an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise DocumentError(where or "document", "must be a mapping of names to values")
    return value


def only(document: dict[str, Any], fields: frozenset[str], where: str = "") -> None:
    """Refuse a field that is not one of ``fields`` (a misspelt one would be silently ignored)."""
    for name in document:
        if name not in fields:
            raise DocumentError(f"{where}.{name}" if where else name, "unknown field")


def text(value: Any, where: str, max_chars: int) -> str:
    """A non-empty string of at most ``max_chars``."""
    if not isinstance(value, str) or not value.strip():
        raise DocumentError(where, "must be a non-empty text")
    if len(value) > max_chars:
        raise DocumentError(where, f"longer than {max_chars} characters")
    return value
