"""``rsv360``: serve every channel, or chat with the bot in a terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from bot.app import build_runtime, create_app, runtime_lifespan
from bot.observability import configure_logging
from bot.settings import Settings
from channels.terminal import TerminalChannel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rsv360", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run every enabled channel in one web server")
    serve.add_argument("--host", help="address to listen on (RSV_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (RSV_PORT)")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--locale", help="pt-BR, en or es (default: detected)")
    chat.add_argument("--user", default="terminal-user", help="user id of this conversation")
    arguments = parser.parse_args(argv)

    overrides = {
        name: getattr(arguments, name)
        for name in ("host", "port")
        if getattr(arguments, name, None) is not None
    }
    settings = Settings(**overrides)
    if arguments.command == "serve":
        configure_logging(settings.log_format, settings.log_level)
        print(f"Onion RSV 360 demo page: {settings.base_url}/", file=sys.stderr, flush=True)
        web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
    else:
        configure_logging("console", "WARNING")
        asyncio.run(_chat(settings, arguments.user, arguments.locale))


async def _chat(settings: Settings, user: str, locale: str | None) -> None:
    async with runtime_lifespan(build_runtime(settings)) as runtime:
        await TerminalChannel(runtime.engine, user_id=user, locale=locale).run()
