"""The few Graph API calls the channel makes, as plain aiohttp requests.

Messages (text, interactive, image, template; read receipts and the typing indicator are
``status: read`` on the same endpoint), media upload, and media download for voice notes. A
refusal raises ``GraphError`` with the HTTP status and Meta's error code; the sender decides
what each means for delivery.
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse, ClientSession, ClientTimeout, FormData

PRODUCT = "whatsapp"


class GraphError(Exception):
    def __init__(self, status: int, code: int | None, message: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class MediaTooLarge(Exception):
    """The media is larger than the caller accepts; nothing was downloaded."""


class GraphApi:
    def __init__(
        self, base_url: str, phone_number_id: str, access_token: str, timeout_seconds: float
    ) -> None:
        self._base = base_url.rstrip("/")
        self._phone = phone_number_id
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = ClientTimeout(total=timeout_seconds)
        self._session: ClientSession | None = None

    @property
    def session(self) -> ClientSession:
        if self._session is None or self._session.closed:
            self._session = ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, to: str, kind: str, content: dict[str, Any]) -> str:
        """One message to ``to``; Meta's id for it (``wamid.…``)."""
        document = {
            "messaging_product": PRODUCT,
            "recipient_type": "individual",
            "to": to,
            "type": kind,
            kind: content,
        }
        answer = await self._post_json(f"{self._phone}/messages", document)
        return str(answer["messages"][0]["id"])

    async def mark_read(self, message_id: str, *, typing: bool = False) -> None:
        """The guest's message shows as read; with ``typing``, "typing…" too (until the next
        message or 25 seconds)."""
        document: dict[str, Any] = {
            "messaging_product": PRODUCT,
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            document["typing_indicator"] = {"type": "text"}
        await self._post_json(f"{self._phone}/messages", document)

    async def upload(self, data: bytes, content_type: str) -> str:
        form = FormData()
        form.add_field("messaging_product", PRODUCT)
        form.add_field("type", content_type)
        form.add_field("file", data, filename="picture", content_type=content_type)
        async with self.session.post(f"{self._base}/{self._phone}/media", data=form) as response:
            answer = await _answer(response)
        return str(answer["id"])

    async def download(self, media_id: str, max_bytes: int) -> tuple[bytes, str]:
        """A guest's media (a voice note) and its content type, refused beyond ``max_bytes``."""
        async with self.session.get(f"{self._base}/{media_id}") as response:
            described = await _answer(response)
        if int(described.get("file_size") or 0) > max_bytes:
            raise MediaTooLarge(media_id)
        async with self.session.get(str(described["url"])) as response:
            if response.status != 200:
                await _answer(response)
            if (response.content_length or 0) > max_bytes:
                raise MediaTooLarge(media_id)
            data = await response.content.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise MediaTooLarge(media_id)
        return data, str(described.get("mime_type") or response.content_type)

    async def _post_json(self, path: str, document: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(f"{self._base}/{path}", json=document) as response:
            return await _answer(response)


async def _answer(response: ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if response.status >= 400 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        raise GraphError(
            response.status, code if isinstance(code, int) else None, str(error.get("message", ""))
        )
    return body
