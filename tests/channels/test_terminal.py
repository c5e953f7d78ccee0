"""``rsv360 chat``: the terminal channel against the real engine, buttons by number."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bot.root.app import build_runtime, runtime_lifespan
from bot.root.settings import Settings
from channels.terminal import TerminalChannel


async def test_a_terminal_conversation_with_numbered_buttons(
    make_settings: Callable[..., Settings],
) -> None:
    lines = iter(["oi", "", "1", "obrigado"])

    async def read_line() -> str | None:
        return next(lines, None)

    output = io.StringIO()
    async with runtime_lifespan(build_runtime(make_settings())) as runtime:
        channel = TerminalChannel(
            runtime.engine, user_id="t1", locale="pt-BR", read_line=read_line, output=output
        )
        await channel.run()
    transcript = output.getvalue()
    assert "1) Reservar" in transcript
    assert "4) Falar com uma pessoa" in transcript
    assert "Ótimo! Onde você gostaria de ficar?" in transcript  # "Reservar" opens the booking
    # "obrigado" in the middle of the booking is answered, then the question comes back
    thanks = transcript.index("bot> De nada! Posso ajudar em mais alguma coisa?")
    assert transcript.index("Voltando à sua reserva", thanks) > thanks


def test_the_chat_command_runs_end_to_end(tmp_path: Path, models_dir: Path) -> None:
    environment = {**os.environ, "RSV_DATA_DIR": str(tmp_path), "RSV_MODELS_DIR": str(models_dir)}
    environment.pop("RSV_REDIS_URL", None)
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--locale", "en"],
        input="hello\nthanks\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=True,
    )
    assert "bot> Hello! I am the virtual assistant" in finished.stdout or (
        "bot> Hi, welcome to Pousada do Mar" in finished.stdout
    )
    assert "bot> You're welcome!" in finished.stdout
