"""A guest talking to the engine turn by turn, as the conversation tests drive it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import Message, Reply
from bot.root.app import Runtime


@dataclass
class Chat:
    """One guest on the web channel, turn by turn."""

    runtime: Runtime
    locale: str
    conversation: str = "guest-1"
    last: tuple[Reply, ...] = field(default_factory=tuple)

    async def says(self, text: str) -> str:
        return await self._turn(text=text)

    async def presses(self, title: str) -> str:
        button = next(b for reply in self.last for b in reply.buttons if b.title.startswith(title))
        assert button.payload, f"{title} is a link button"
        return await self._turn(payload=button.payload)

    def buttons(self) -> list[str]:
        return [button.title for reply in self.last for button in reply.buttons]

    def link(self, title: str = "") -> str:
        """The URL of the link button whose title starts with ``title`` (the first one)."""
        button = next(
            b for reply in self.last for b in reply.buttons if b.title.startswith(title) and b.url
        )
        return button.url

    async def _turn(self, text: str | None = None, payload: str | None = None) -> str:
        result = await self.runtime.engine.handle(
            Message(
                "web",
                self.conversation,
                self.conversation,
                text=text,
                payload=payload,
                locale_hint=self.locale,
            )
        )
        assert result.status == "handled", result
        self.last = result.replies
        return "\n".join(reply.text for reply in result.replies)
