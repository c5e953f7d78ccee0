"""Secrets offered in request headers, compared in constant time on bytes.

aiohttp decodes header bytes as UTF-8 with ``surrogateescape``, so a header may hold any byte
sequence; ``hmac.compare_digest`` refuses ``str`` with non-ASCII characters (``TypeError``, a
500) and ``str.encode`` refuses the escapes. Encoding back with ``surrogateescape`` gives the
exact bytes the client sent, which then simply do not match.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence


def header_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def same_secret(offered: str, expected: bytes) -> bool:
    return hmac.compare_digest(header_bytes(offered), expected)


def bearer_matches(authorization: str, keys: Sequence[bytes]) -> bool:
    """True when ``Authorization: Bearer <token>`` names one of ``keys``. Every key is compared,
    none skipped, so the time does not tell which one was close."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    offered = header_bytes(token.strip())
    matches = [hmac.compare_digest(offered, key) for key in keys]
    return any(matches)
