"""axe-core (the npm package, installed by .ci/run under .ci/node) run on a Playwright page: the
accessibility violations a page has, by impact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.support.services import in_ci

AXE = Path(__file__).resolve().parents[2] / ".ci/node/node_modules/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")


def axe_source() -> str:
    """axe-core's script; its absence fails the test under CI and skips it elsewhere."""
    if not AXE.exists():
        reason = f"{AXE} not found: run .ci/run's npm step (npm install ... axe-core)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


async def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """The page's serious and critical violations (rule, impact, the first offending nodes).
    axe is evaluated by the browser's debugger, which the page's Content-Security-Policy does
    not stop, so the page is checked exactly as it is served."""
    found: list[dict[str, Any]] = await page.evaluate(
        axe_source()
        + """
;(async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
  }));
})()"""
    )
    return [violation for violation in found if violation["impact"] in BLOCKING]
