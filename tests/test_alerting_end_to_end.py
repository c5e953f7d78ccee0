"""The whole alert path for real: forged payment webhooks raise the bot's rejection counter,
Debian's Prometheus (the shipped rules) fires WebhookVerificationFailures, Debian's Alertmanager
(the shipped routing) posts it to the bot's receiver, and the bot sends it to a Slack channel
(one message with its buttons) and an e-mail address; when the forgeries stop, the alert
resolves and the Slack message is edited in place. The stack and its overlay (a faster pace
only) are in tests/support/alerting_stack.py; bench/alerting.py times the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.alerting_stack import (
    MAILBOX,
    OVERLAY,
    alerting_stack,
    forge_until_alerted,
    production_estimate,
    shipped_pace,
    until_resolved,
)


@pytest.mark.monitoring
async def test_forged_webhooks_reach_slack_and_mail_and_their_resolve_edits_the_message(
    tmp_path: Path, models_dir: Path
) -> None:
    base = {"data_dir": tmp_path / "bot", "models_dir": models_dir, "secret_key": "test-secret"}
    async with alerting_stack(tmp_path / "stack", base) as stack:
        run = await forge_until_alerted(stack)

        assert run.posted_at_firing == 1
        assert run.mails_at_firing == 1
        [message] = stack.posted()
        assert "Webhooks failing verification at stripe" in message.params["text"]
        titles = [button["text"]["text"] for button in message.buttons()]
        assert titles[:5] == [
            "Acknowledge",
            "Silence 1 h",
            "Silence 24 h",
            "Open runbook",
            "Open dashboard",
        ]
        [mail] = stack.inbox.messages
        assert mail["To"] == MAILBOX
        assert "stripe" in str(mail["Subject"])
        # The overlay's fixed waits alone come before the message: ``for`` and group_wait.
        assert run.latency >= OVERLAY.pending + OVERLAY.group_wait
        assert run.latency < 30

        await until_resolved(stack)
        assert len(stack.posted()) == 1
        [update] = stack.updated()
        assert update.params["ts"] == "1.0001"  # the firing message's own
        assert update.params["text"].startswith("✅ Resolved")
        assert len(stack.inbox.messages) == 2


def test_the_production_estimate_swaps_the_overlays_waits_for_the_shipped_ones() -> None:
    shipped = shipped_pace()
    assert (shipped.scrape, shipped.evaluation, shipped.pending, shipped.group_wait) == (
        5,
        5,
        10,
        5,
    )
    # 4 s measured under the overlay: half a scrape and half an evaluation, 2 s of ``for``,
    # 1 s of group_wait, nothing else; at the shipped pace 5 + 10 + 5 (typical) or
    # 10 + 10 + 5 (worst).
    assert production_estimate(4.0) == {"typical": 20.0, "worst": 25.0}
    assert production_estimate(4.5) == {"typical": 20.5, "worst": 25.5}
    assert production_estimate(3.0) == {"typical": 20.0, "worst": 25.0}
