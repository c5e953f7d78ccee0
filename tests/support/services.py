"""Where the real services the suite talks to are."""

from __future__ import annotations

import os

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
"""A database of its own (9 unless REDIS_URL says): every test using it empties it first."""
POSTGRESQL_URL = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
"""Dropped and migrated afresh by every test that uses it."""
