"""What a database runs, for tests that count statements: each as its verb, ``*`` after one run
once per row (an executemany)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.stores.database import Database


class Statements:
    def __init__(self, database: Database) -> None:
        self._engine = database.engine.sync_engine
        self.run: list[str] = []
        self.texts: list[str] = []

    def _executed(self, *arguments: Any) -> None:
        _connection, _cursor, sql, _parameters, _context, many = arguments
        self.run.append(sql.split(None, 1)[0].upper() + ("*" if many else ""))
        self.texts.append(sql)

    def __enter__(self) -> Statements:
        event.listen(self._engine, "before_cursor_execute", self._executed)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._executed)

    def of(self, verb: str) -> list[str]:
        """The texts of the statements that begin with ``verb``."""
        return [text for text in self.texts if text.split(None, 1)[0].upper() == verb]
