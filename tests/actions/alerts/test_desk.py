"""The alert desk against a real database, a fake Slack reached through slack_sdk and a real
local SMTP server: grouping, storms, quiet hours, edits in place, retries and the fallback."""

from __future__ import annotations

from actions.alerts.model import Alert, AlertAction
from tests.support.alert_desk import AlertBench

DESK, OPS = "CDESK001", "COPS0001"


def payment_alert(**overrides: object) -> Alert:
    values: dict[str, object] = {
        "type": "payment",
        "severity": "warning",
        "dedupe_key": "am:payments-failing",
        "summary": "Payment failures above 20% at stripe",
        "runbook_url": "https://docs.example/runbooks#payments",
    }
    values.update(overrides)
    return Alert(**values)  # type: ignore[arg-type]


async def test_an_alert_reaches_each_destination_of_its_route_with_staff_buttons(
    alert_bench: AlertBench,
) -> None:
    await alert_bench.desk.raise_alert(payment_alert())
    desk = alert_bench.slack.sent(channel=DESK)
    ops = alert_bench.slack.sent(channel=OPS)
    assert len(desk) == len(ops) == 1
    assert "Payments · warning: Payment failures above 20% at stripe" in desk[0].params["text"]
    assert "Pagamentos · atenção" in ops[0].params["text"]  # the destination's own locale
    titles = [button["text"]["text"] for button in desk[0].buttons()]
    assert titles == ["Acknowledge", "Silence 1 h", "Silence 24 h", "Open runbook"]
    values = [button.get("value") for button in desk[0].buttons()]
    assert values[0].startswith("intent:alert_ack|id=")
    assert alert_bench.inbox_server.inbox.messages == []  # e-mail is not on this route


async def test_a_storm_of_one_alert_sends_few_messages_and_keeps_every_raise(
    alert_bench: AlertBench,
) -> None:
    desk = alert_bench.desk
    for second in range(1000):
        if second % 20 == 0:
            alert_bench.clock.advance(seconds=1.2)  # 1,000 raises within one minute
        alert_id = await desk.raise_alert(payment_alert())
    await desk.raise_alert(payment_alert(status="resolved"))
    for channel in (DESK, OPS):
        posted = alert_bench.slack.sent("chat.postMessage", channel)
        updated = alert_bench.slack.sent("chat.update", channel)
        assert len(posted) == 1
        assert 1 <= len(updated) <= 2  # the repeat count once a minute, and the resolve
        assert updated[-1].params["text"].startswith("✅")
        assert "1000" in updated[-1].params["text"]
        assert {update.params["ts"] for update in updated} <= {"1.0001", "2.0001"}
    events = await desk.history.events(alert_id)
    assert [event.kind for event in events].count("fired") == 1000
    assert events[-1].kind == "resolved"
    assert alert_bench.deliveries("grouped") >= 1990


async def test_many_different_alerts_in_a_minute_are_held_beyond_the_destinations_share(
    alert_bench: AlertBench,
) -> None:
    for number in range(30):
        await alert_bench.desk.raise_alert(payment_alert(dedupe_key=f"k{number}"))
    assert len(alert_bench.slack.sent("chat.postMessage", DESK)) == 5
    assert alert_bench.deliveries("throttled") == 50  # 25 per destination, listed not sent
    listed = await alert_bench.desk.history.recent(100)
    assert len(listed) == 30
    assert sorted({d.state for _, ds in listed for d in ds}) == ["sent", "throttled"]


async def test_quiet_hours_hold_warnings_and_let_critical_through(
    alert_bench: AlertBench,
) -> None:
    alert_bench.clock.now = alert_bench.clock.now.replace(hour=23)  # 23:00 in São Paulo
    await alert_bench.desk.raise_alert(payment_alert())
    assert alert_bench.slack.sent(channel=DESK) == []
    assert len(alert_bench.slack.sent(channel=OPS)) == 1  # no quiet hours there
    await alert_bench.desk.raise_alert(payment_alert(dedupe_key="other", severity="critical"))
    assert len(alert_bench.slack.sent(channel=DESK)) == 1
    assert await alert_bench.desk.release_quiet() == 0  # still quiet
    alert_bench.clock.advance(hours=8)  # 07:00
    assert await alert_bench.desk.release_quiet() == 1
    assert len(alert_bench.slack.sent(channel=DESK)) == 2


async def test_a_failing_destination_is_retried_with_backoff_then_falls_back_to_email(
    alert_bench: AlertBench,
) -> None:
    alert_bench.slack.fail("chat.postMessage", 500, times=6)  # every try at both channels
    await alert_bench.desk.raise_alert(payment_alert())
    assert alert_bench.waits == [1.0, 2.0, 1.0, 2.0]
    assert alert_bench.deliveries("retried") == 4
    assert alert_bench.deliveries("failed") == 2
    assert alert_bench.deliveries("fallback") == 2
    inbox = alert_bench.inbox_server.inbox
    assert len(inbox.messages) == 1  # one e-mail however many destinations failed
    assert inbox.messages[0]["To"] == "ops@pousada.example"
    assert inbox.messages[0]["Subject"] == "[aviso] Pagos: Payment failures above 20% at stripe"
    parts = inbox.parts()
    assert "https://docs.example/runbooks#payments" in parts["plain"]
    assert '<a href="https://docs.example/runbooks#payments">' in parts["html"]


async def test_a_failing_smtp_server_is_retried(alert_bench: AlertBench) -> None:
    alert_bench.inbox_server.inbox.refuse = 2
    await alert_bench.desk.raise_alert(
        Alert("system", "warning", "disk", "Disk <almost> full", details="95% & rising")
    )
    inbox = alert_bench.inbox_server.inbox
    assert len(inbox.messages) == 1
    assert alert_bench.deliveries("retried") == 2
    assert "Disk &lt;almost&gt; full" in inbox.parts()["html"]  # escaped in HTML
    assert "Disk <almost> full" in inbox.parts()["plain"]


async def test_acknowledging_and_silencing_edit_the_message_and_hold_repeats(
    alert_bench: AlertBench,
) -> None:
    desk = alert_bench.desk
    alert_id = await desk.raise_alert(payment_alert())
    assert await desk.acknowledge(alert_id, "slack:USTAFF01") == "acknowledged"
    assert await desk.acknowledge(alert_id, "slack:USTAFF02") == "already"
    update = alert_bench.slack.sent("chat.update", DESK)[-1]
    assert "Acknowledged by slack:USTAFF01." in update.params["text"]
    assert next(b["text"]["text"] for b in update.buttons()) == "Silence 1 h"
    assert await desk.silence(alert_id, "slack:USTAFF01", 24) == "silenced"
    calls = len(alert_bench.slack.calls)
    alert_bench.clock.advance(minutes=10)
    await desk.raise_alert(payment_alert())
    assert len(alert_bench.slack.calls) == calls  # silenced: the repeat is stored, not sent
    assert alert_bench.deliveries("silenced") == 2
    assert await desk.acknowledge(999_999, "slack:USTAFF01") == "unknown"


async def test_an_alert_firing_again_soon_after_it_resolved_updates_the_same_message(
    alert_bench: AlertBench,
) -> None:
    desk = alert_bench.desk
    first = await desk.raise_alert(payment_alert())
    await desk.raise_alert(payment_alert(status="resolved"))
    alert_bench.clock.advance(minutes=5)
    assert await desk.raise_alert(payment_alert()) == first
    assert len(alert_bench.slack.sent("chat.postMessage", DESK)) == 1
    alert_bench.clock.advance(hours=2)
    await desk.raise_alert(payment_alert(status="resolved"))
    alert_bench.clock.advance(hours=2)
    assert await desk.raise_alert(payment_alert()) != first  # past the window: a new alert
    assert len(alert_bench.slack.sent("chat.postMessage", DESK)) == 2


async def test_a_resolve_of_an_unknown_alert_is_stored_and_sends_nothing(
    alert_bench: AlertBench,
) -> None:
    await alert_bench.desk.raise_alert(payment_alert(status="resolved"))
    assert alert_bench.slack.calls == []
    assert len(await alert_bench.desk.history.recent()) == 1


async def test_the_test_command_reports_what_each_destination_got(
    alert_bench: AlertBench,
) -> None:
    results = await alert_bench.desk.test("payment", "warning")
    assert sorted(results) == [
        ("desk", "slack:CDESK001", "sent"),
        ("ops", "slack:COPS0001", "sent"),
    ]
    assert "This is a test alert" in alert_bench.slack.sent(channel=DESK)[0].params["text"]


async def test_an_alert_from_the_code_is_worded_in_each_destinations_locale_with_its_buttons(
    alert_bench: AlertBench,
) -> None:
    facts = {"id": 7, "code": "RSV-ABC123", "gateway": "stripe", "amount": 150_00}
    alert = payment_alert(
        dedupe_key="payment:refund-failed:7",
        summary="stored words",
        template="payments/staff_refund_failed",
        facts={**facts, "currency": "BRL"},
        actions=(AlertAction("staff_refund_all", "intent:refund_flagged|id=3"),),
    )
    alert_id = await alert_bench.desk.raise_alert(alert)
    [desk] = alert_bench.slack.sent(channel=DESK)
    [ops] = alert_bench.slack.sent(channel=OPS)
    assert "Payments · warning: Refund #7 of R$150.00 for RSV-ABC123 failed" in desk.params["text"]
    assert "Pagamentos · atenção: O reembolso nº 7 de R$\xa0150,00" in ops.params["text"]
    assert [b["text"]["text"] for b in desk.buttons()][-2:] == ["Refund it all", "Open runbook"]
    [record] = await alert_bench.desk.history.open_alerts()
    assert record.summary == "stored words"  # the lists show the words it was raised with

    assert await alert_bench.desk.resolve("payment:refund-failed:7") is True
    [resolved] = alert_bench.slack.sent("chat.update", DESK)
    assert resolved.params["text"].startswith("✅ Resolved · Payments")
    assert "Refund #7 of R$150.00" in resolved.params["text"]
    assert "Refund it all" not in [b["text"]["text"] for b in resolved.buttons()]
    assert await alert_bench.desk.resolve("payment:refund-failed:7") is False  # none fires
    assert [e.kind for e in await alert_bench.desk.history.events(alert_id)] == [
        "fired",
        "resolved",
    ]
