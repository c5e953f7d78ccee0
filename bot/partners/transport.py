"""An httpx2 transport through the partner client, for SDKs built on httpx2 (openai's): the SDK
builds and reads its requests, the partner client sends them (limits, retries, breaker and
metrics per API). The SDK's own retries are turned off where it is made (``max_retries=0``)."""

from __future__ import annotations

import httpx2

from bot.partners.client import PartnerApi, PartnerClient, PartnerError

_SET_BY_THE_SENDER = frozenset({"host", "content-length", "transfer-encoding", "connection"})
"""Request headers aiohttp writes itself, for the body it sends."""
_UNDONE_BY_AIOHTTP = frozenset({"content-encoding", "content-length", "transfer-encoding"})
"""Answer headers that no longer describe the body aiohttp hands over (already decompressed
and read whole): kept, httpx2 would decode it a second time."""


class PartnerTransport(httpx2.AsyncBaseTransport):
    def __init__(self, partners: PartnerClient, api: PartnerApi, *, safe_to_repeat: bool) -> None:
        """``safe_to_repeat``: every request of this SDK only reads (an LLM's answer), so its
        POSTs may be retried."""
        self._partners = partners
        self._api = api
        self._safe_to_repeat = safe_to_repeat

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _SET_BY_THE_SENDER
        }
        try:
            answer = await self._partners.call(
                self._api,
                request.method,
                str(request.url),
                headers=headers,
                data=await request.aread(),
                safe_to_repeat=self._safe_to_repeat,
            )
        except PartnerError as error:
            # The SDK's own connection error: it gives up (no retries of its own) and its
            # caller's usual handling applies.
            raise httpx2.ConnectError(str(error), request=request) from error
        return httpx2.Response(
            answer.status,
            headers=[
                (name, value)
                for name, value in answer.headers.items()
                if name.lower() not in _UNDONE_BY_AIOHTTP
            ],
            content=answer.body,
            request=request,
        )
