"""The load benchmark's HTTP client (bench/load.py): what it reads is what the server sent, or
an error, whatever the shape and split of the response; a wrong figure would go unnoticed."""

from __future__ import annotations

import itertools
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot.root.settings import PACKAGE_ROOT

sys.path.insert(0, str(PACKAGE_ROOT / "bench"))
import load  # bench/ is a folder of scripts, not a package


async def echo(request: web.Request) -> web.Response:
    """Echoes the body, with the status the body asks for."""
    body = await request.read()
    return web.Response(body=body, status=429 if body.startswith(b"slow") else 200)


async def serving(port: int) -> web.AppRunner:
    """aiohttp on ``port``, as the bot serves."""
    app = web.Application()
    app.router.add_post("/api/v1/messages", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture
async def port() -> AsyncIterator[int]:
    port = load.free_port()
    runner = await serving(port)
    yield port
    await runner.cleanup()


async def test_kept_alive_connection_reads_each_response_whole(port: int) -> None:
    connection = load.KeptAlive(port, "/api/v1/messages")
    try:
        bodies = [b"{}", "olá, café às 8h?".encode() * 500, b"slow down", b""]
        answers = [await connection.post(body) for body in bodies]
        assert answers == [(429 if b.startswith(b"slow") else 200, b) for b in bodies]
    finally:
        connection.close()


async def test_a_connection_the_server_closed_is_opened_again() -> None:
    port = load.free_port()
    runner = await serving(port)
    connection = load.KeptAlive(port, "/api/v1/messages")
    assert await connection.post(b"1") == (200, b"1")
    await runner.cleanup()
    # the close may not have reached the client yet: reset or refused, but never a hang
    with pytest.raises((ConnectionResetError, ConnectionRefusedError)):
        await connection.post(b"2")
    runner = await serving(port)
    try:
        assert await connection.post(b"3") == (200, b"3")
    finally:
        connection.close()
        await runner.cleanup()


class Wire:
    """The write end of a connection: the reader only writes its requests to it."""

    def write(self, data: bytes) -> None:
        pass


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[start:end] for start, end in itertools.pairwise(points)]


@given(
    status=st.integers(100, 599),
    body=st.binary(max_size=3000),
    header_case=st.sampled_from(["Content-Length", "content-length", "CONTENT-LENGTH"]),
    cuts=st.lists(st.integers(0, 4000), max_size=8),
)
async def test_a_response_in_any_split_reads_as_sent(
    status: int, body: bytes, header_case: str, cuts: list[int]
) -> None:
    reader = load.ResponseReader()
    reader.connection_made(Wire())  # type: ignore[arg-type]
    response = reader.send(b"POST / HTTP/1.1\r\n\r\n")
    head = f"HTTP/1.1 {status} X\r\nServer: t\r\n{header_case}: {len(body)}\r\n\r\n".encode()
    for chunk in split(head + body + b"HTTP/1.1 200", cuts):
        assert not response.done()
        reader.data_received(chunk)
        if response.done():
            break
    assert response.result() == (status, body)


@given(head=st.binary(max_size=200).filter(lambda head: b"content-length:" not in head.lower()))
async def test_a_response_without_its_length_is_an_error(head: bytes) -> None:
    reader = load.ResponseReader()
    reader.connection_made(Wire())  # type: ignore[arg-type]
    response: Any = reader.send(b"POST / HTTP/1.1\r\n\r\n")
    reader.data_received(head + b"\r\n\r\n{}")
    with pytest.raises(ValueError, match="Content-Length"):
        response.result()
