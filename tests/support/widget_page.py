"""The web widget as a guest sees it in a Playwright page: its messages and its input box."""

from __future__ import annotations

from playwright.async_api import Locator, Page

TIMEOUT_MS = 10_000
"""How long a browser test waits for the widget to show something."""


def messages(page: Page, author: str | None = None) -> Locator:
    """The chat's messages, or only the ``author``'s ("bot", "guest" or "system")."""
    selector = '[data-testid="rsv-message"]'
    if author is not None:
        selector += f'[data-author="{author}"]'
    return page.get_by_test_id("rsv-messages").locator(selector)


async def say(page: Page, text: str) -> None:
    await page.get_by_test_id("rsv-input").fill(text)
    await page.get_by_test_id("rsv-input").press("Enter")
