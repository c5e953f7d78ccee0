"""``POST /alerts/alertmanager``: credentials, size, malformed payloads, and a good group end to
end to a fake Slack message that its resolve edits in place; the parser under hypothesis."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from bot.edge.json_body import MalformedJson
from bot.root.alerts import alert_from_group
from channels.alertmanager import PATH, AlertGroup, AlertmanagerReceiver, parse_group
from tests.support.alert_desk import AlertBench

TOKEN = "am-token-0123456789"
BASIC = ("alertmanager", "s3cret")


def payload(status: str = "firing", **overrides: Any) -> dict[str, Any]:
    labels = {"alertname": "WebhookForgeries", "type": "security", "severity": "critical"}
    document: dict[str, Any] = {
        "version": "4",
        "status": status,
        "receiver": "rsv360",
        "groupKey": '{}:{alertname="WebhookForgeries"}',
        "groupLabels": {"alertname": "WebhookForgeries"},
        "commonLabels": labels,
        "commonAnnotations": {
            "summary": "Forged webhooks at /telegram/webhook",
            "description": "12 failed verifications in 5 minutes",
            "runbook_url": "https://docs.example/runbooks#webhook-forgeries",
        },
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {},
                "startsAt": "2026-12-02T18:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
                "fingerprint": "c0ffee",
            }
        ],
    }
    document.update(overrides)
    return document


@pytest.fixture
async def receiver(alert_bench: AlertBench) -> AsyncIterator[TestClient]:
    app = web.Application()

    async def sink(group: AlertGroup) -> None:
        await alert_bench.desk.raise_alert(alert_from_group(group))

    AlertmanagerReceiver(sink, [TOKEN], BASIC, 4096).mount(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_group_becomes_one_message_and_its_resolve_edits_it(
    receiver: TestClient, alert_bench: AlertBench
) -> None:
    response = await receiver.post(PATH, json=payload(), headers=bearer())
    assert response.status == 200
    posted = alert_bench.slack.sent("chat.postMessage", "CDESK001")
    assert len(posted) == 1
    assert "Security · critical: Forged webhooks at /telegram/webhook" in posted[0].params["text"]
    titles = [button["text"]["text"] for button in posted[0].buttons()]
    assert titles == [
        "Acknowledge",
        "Silence 1 h",
        "Silence 24 h",
        "Open runbook",
        "Open dashboard",
    ]
    basic = base64.b64encode(":".join(BASIC).encode()).decode()
    resolved = await receiver.post(
        PATH, json=payload("resolved"), headers={"Authorization": f"Basic {basic}"}
    )
    assert resolved.status == 200
    updates = alert_bench.slack.sent("chat.update", "CDESK001")
    assert len(updates) == 1
    assert updates[0].params["text"].startswith("✅ Resolved")
    assert len(alert_bench.slack.sent("chat.postMessage", "CDESK001")) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong"),
        {"Authorization": "Bearer "},
        {"Authorization": "Basic " + base64.b64encode(b"alertmanager:nope").decode()},
        {"Authorization": "Basic %%%"},
        {"Authorization": "Bearer \udcff"},
    ],
)
async def test_wrong_credentials_get_401_and_store_nothing(
    receiver: TestClient, alert_bench: AlertBench, headers: dict[str, str]
) -> None:
    response = await receiver.post(PATH, data=json.dumps(payload()), headers=headers)
    assert response.status == 401
    assert await alert_bench.desk.history.recent() == []


async def test_an_oversized_payload_gets_413(receiver: TestClient, alert_bench: AlertBench) -> None:
    big = payload(commonAnnotations={"summary": "x" * 5000})
    response = await receiver.post(PATH, data=json.dumps(big), headers=bearer())
    assert response.status == 413
    assert await alert_bench.desk.history.recent() == []


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"version": "4", "status": "firing"}',
        json.dumps(payload(version="3")).encode(),
        json.dumps(payload(status="pending")).encode(),
        json.dumps(payload(groupKey="")).encode(),
        json.dumps(payload(alerts=[])).encode(),
        json.dumps(payload(commonLabels={"bad-name": "x"})).encode(),
        json.dumps(payload(alerts=[{"status": "firing", "startsAt": "yesterday"}])).encode(),
        b'{"version": "4", "status": "firing", "groupKey": NaN}',
    ],
)
async def test_a_malformed_payload_gets_400_and_stores_nothing(
    receiver: TestClient, alert_bench: AlertBench, body: bytes
) -> None:
    response = await receiver.post(PATH, data=body, headers=bearer())
    assert response.status == 400
    assert await alert_bench.desk.history.recent() == []
    assert alert_bench.slack.calls == []


def test_a_shipped_rules_relative_runbook_link_opens_where_the_runbooks_are_published() -> None:
    group = parse_group(
        payload(commonAnnotations={"runbook_url": "docs/runbooks.md#botdown", "summary": "x"})
    )
    base = "https://git.example/rsv360/blob/main/"
    assert alert_from_group(group, base).runbook_url == f"{base}docs/runbooks.md#botdown"
    assert alert_from_group(group).runbook_url is None  # nowhere to open: no button


def test_control_characters_in_annotations_are_blanked() -> None:
    group = parse_group(payload(commonAnnotations={"summary": "bad\x1b[31mred\x00"}))
    assert alert_from_group(group).summary == "bad [31mred "


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.sampled_from(["4", "3", 4]) | json_values,
            "status": st.sampled_from(["firing", "resolved"]) | json_values,
            "groupKey": st.text(max_size=30) | json_values,
            "commonLabels": st.dictionaries(st.text(max_size=12), st.text(max_size=12))
            | json_values,
            "commonAnnotations": st.dictionaries(st.text(max_size=12), st.text(max_size=12)),
            "alerts": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "status": st.sampled_from(["firing", "resolved"]) | json_values,
                        "startsAt": st.sampled_from(
                            ["2026-12-02T18:00:00Z", "0001-01-01T00:00:00Z"]
                        )
                        | st.text(max_size=30),
                        "endsAt": st.text(max_size=30) | st.none(),
                        "labels": st.dictionaries(st.text(max_size=8), st.text(max_size=8)),
                        "fingerprint": st.text(max_size=8) | json_values,
                    },
                )
                | json_values,
                max_size=3,
            ),
        },
    )
)
def test_the_parser_takes_a_group_or_refuses_it_never_crashes(document: dict[str, Any]) -> None:
    try:
        group = parse_group(document)
    except MalformedJson:
        return
    alert = alert_from_group(group)  # whatever passed maps to an alert of the model
    assert alert.status in ("firing", "resolved")
    assert alert.summary
