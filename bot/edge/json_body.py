"""JSON from outside read once, the same way at every edge: an object or a refusal, never a crash.

``json.loads`` alone lets through what fails later, far from the request: ``NaN`` and
``Infinity`` (not JSON), lone surrogates in strings (no UTF-8 encoder takes them) and nesting
deep enough to raise ``RecursionError`` instead of ``ValueError``. Each refusal names an
``prompts/errors/`` template, so an adapter can answer it in the user's language.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.core.text import is_scalar_text

MAX_DEPTH = 32


class MalformedJson(Exception):
    """The body is not a JSON object we accept; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def json_object(raw: bytes | str) -> dict[str, Any]:
    """The JSON object in ``raw``; raises ``MalformedJson`` for anything else."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedJson("invalid_utf8") from None
    if not is_scalar_text(raw):  # a surrogate decoded from a WebSocket frame or a header
        raise MalformedJson("invalid_text")
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise MalformedJson("invalid_json") from None
    if not isinstance(document, dict):
        raise MalformedJson("invalid_request")
    refusal = _refusal(document, MAX_DEPTH)
    if refusal is not None:
        raise MalformedJson(refusal)
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _refusal(value: Any, depth: int) -> str | None:
    """Why a parsed value is refused: nested deeper than ``depth``, or a string (key or value)
    with a lone surrogate; None when it is fine."""
    if depth < 0:
        return "invalid_json"
    if isinstance(value, str):
        return None if is_scalar_text(value) else "invalid_text"
    if isinstance(value, dict):
        if not all(is_scalar_text(key) for key in value):
            return "invalid_text"
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            refusal = _refusal(item, depth - 1)
            if refusal is not None:
                return refusal
    return None


_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:|-]*")


def at(document: dict[str, Any], *path: str) -> Any:
    """The value under ``path`` (keys of nested objects); ``MalformedJson`` when one is missing
    or not an object."""
    value: Any = document
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise MalformedJson("invalid_request")
        value = value[key]
    return value


def identifier(value: Any, max_chars: int = 120, *, numbers: bool = False) -> str:
    """A provider's id or event type: ASCII letters, digits and ``_.:|-`` (or, with
    ``numbers``, a whole number, as some providers send their ids)."""
    if numbers and type(value) is int and 0 <= value < 10**30:
        return str(value)
    if isinstance(value, str) and len(value) <= max_chars and _IDENTIFIER.fullmatch(value):
        return value
    raise MalformedJson("invalid_request")
