"""Requests an HTTP client library would refuse to send: header values with arbitrary bytes."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient


async def raw_post(
    client: TestClient, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"{}"
) -> int:
    """POST ``body`` with ``headers`` as given bytes; the response's status code."""
    host, port = client.server.host, client.server.port
    assert isinstance(port, int)
    reader, writer = await asyncio.open_connection(host, port)
    head = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: " + host.encode(),
            b"Content-Type: application/json", b"Content-Length: " + str(len(body)).encode(),
            b"Connection: close"]  # fmt: skip
    head += [name + b": " + value for name, value in headers]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])
