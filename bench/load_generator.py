"""What the load generator of ``bench/load.py`` costs per turn, against a stub server.

    .venv/bin/python bench/load_generator.py                  # about 40 s
    .venv/bin/python bench/load_generator.py --rounds 5 --seconds 10

In ``bench/load.py`` the load generator shares the machine's two cores with the servers, Redis
and PostgreSQL, so each microsecond it spends on a turn is one the servers do not get with
``--workers 2``. Its CPU there moves with everything else on the machine; this measures it
alone: ``load.rest_worker`` (the closed loop's REST conversations, as ``bench/load.py`` runs
them) pinned to one CPU against a stub HTTP server on the other, which answers each message
after a fixed delay (about a two-worker run's latency, so replies arrive one by one as they
do there) with a body shaped like the bot's. The figure is the load generator's process CPU
(``time.process_time``) over the turns completed in the window. To compare another commit's
load generator, copy this file into its ``bench/`` (a worktree) and run it from there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import cast

import load
import uvloop

BODY = b'{"replies": [{"text": "' + b"x" * 300 + b'"}]}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


class DelayedReplies(asyncio.Protocol):
    """Answers each request, whole once its ``Content-Length`` has arrived, after ``delay``."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._received = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._received += data
        while (message := load.framed(self._received)) is not None:
            _, _, end = message
            if len(self._received) < end:
                return
            self._received = self._received[end:]
            asyncio.get_running_loop().call_later(self._delay, self._answer)

    def _answer(self) -> None:
        if not self._transport.is_closing():
            self._transport.write(RESPONSE)


async def serve(port: int, delay: float) -> None:
    await asyncio.get_running_loop().create_server(lambda: DelayedReplies(delay), "127.0.0.1", port)
    await asyncio.Event().wait()


async def measure(port: int, conversations: int, seconds: float) -> tuple[int, float]:
    """Turns completed in the window and the load generator's CPU seconds over them."""
    window = load.Window(warmup=1.0, seconds=seconds, max_messages=10**9, max_sent=10**9)
    texts = ["oi", "quero reservar um quarto", "qual o horário do café?"]
    workers = [
        asyncio.create_task(
            load.rest_worker(
                port, "/api/v1/messages", n, f"u{n}", texts, "m", load.Pacer(None, n), window
            )
        )
        for n in range(conversations)
    ]
    await asyncio.sleep(window.measure_at - time.perf_counter())
    cpu, turns = time.process_time(), len(window.latencies_ms)
    await window.stopped.wait()
    cpu, turns = time.process_time() - cpu, len(window.latencies_ms) - turns
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return turns, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--delay-ms", type=float, default=45.0, help="the stub's reply delay")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured window per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client-cpu", type=int, default=0)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        uvloop.run(serve(arguments.serve, arguments.delay_ms / 1000))
        return
    port = load.free_port()
    stub = subprocess.Popen(
        [
            *("taskset", "-c", str(arguments.server_cpu), sys.executable, __file__),
            *("--serve", str(port), "--delay-ms", str(arguments.delay_ms)),
        ]
    )
    os.sched_setaffinity(0, {arguments.client_cpu})
    try:
        time.sleep(1.0)  # the stub's import and bind
        for number in range(1, arguments.rounds + 1):
            turns, cpu = uvloop.run(measure(port, arguments.conversations, arguments.seconds))
            if not turns:
                sys.exit("no turn was answered: the stub server did not start")
            print(
                f"round {number}: {turns:,} turns, {turns / arguments.seconds:,.0f}/s, "
                f"load generator {cpu / turns * 1e6:.1f} µs CPU per turn",
                flush=True,
            )
    finally:
        stub.terminate()
        stub.wait()


if __name__ == "__main__":
    main()
