"""Long replies cut into parts a provider accepts, at the most natural boundary."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` characters, cut at a paragraph, else a line, else a space."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = next(
            (at for at in (window.rfind(sep) for sep in ("\n\n", "\n", " ")) if at > 0), limit
        )
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts
