"""The terminal: a conversation with the engine on standard input and output."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from bot.core.engine import Engine
from bot.core.types import Message, Reply

CHANNEL = "terminal"


class TerminalChannel:
    """Numbers the buttons of the last reply; typing a number presses that button."""

    def __init__(
        self,
        engine: Engine[Any],
        *,
        user_id: str,
        locale: str | None,
        read_line: Callable[[], Awaitable[str | None]] | None = None,
        output: TextIO = sys.stdout,
    ) -> None:
        self._engine = engine
        self._user_id = user_id
        self._locale = locale
        self._read_line = read_line or _read_stdin_line
        self._output = output
        self._buttons: list[str] = []

    async def run(self) -> None:
        while (line := await self._read_line()) is not None:
            line = line.strip()
            if not line:
                continue
            text: str | None = line
            payload: str | None = None
            if line.isdigit() and 0 < int(line) <= len(self._buttons):
                text, payload = None, self._buttons[int(line) - 1]
            result = await self._engine.handle(
                Message(
                    channel=CHANNEL,
                    conversation_id=self._user_id,
                    user_id=self._user_id,
                    text=text,
                    payload=payload,
                    locale_hint=self._locale,
                )
            )
            for reply in result.replies:
                self._show(reply)

    def _show(self, reply: Reply) -> None:
        print(f"bot> {reply.text}", file=self._output)
        self._buttons = []
        for button in reply.buttons:
            if button.url:
                print(f"     [{button.title}] {button.url}", file=self._output)
            elif button.payload:
                self._buttons.append(button.payload)
                print(f"     {len(self._buttons)}) {button.title}", file=self._output)
        self._output.flush()


async def _read_stdin_line() -> str | None:
    line = await asyncio.to_thread(sys.stdin.readline)
    return line or None
