"""Files only the server's own user may read: the data directory, the embedded database, the
secret key. Guests' personal data and the key that signs their links live there, and a shared
host's other users have no business in them."""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(path: Path) -> Path:
    """The directory, created if need be, closed to everyone but its owner (tightened when it
    already existed: whatever a looser umask let through before stays unreachable)."""
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    path.chmod(DIRECTORY_MODE)
    return path


def private_file(path: Path) -> Path:
    """The file, created empty if need be, readable and writable by its owner only.

    Created before SQLite opens it, because SQLite gives its -wal and -shm files the database
    file's permissions."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(descriptor)
    path.chmod(FILE_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a new file that is never readable by others, not even for an instant."""
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
