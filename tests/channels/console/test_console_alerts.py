"""The console's Alerts page over HTTP: firing and resolved alerts in the staff member's
language, Acknowledge and Silence as in chat (audited, the alert's record changed once), and bad
presses refused with nothing changed."""

from __future__ import annotations

import re

import pytest
from aiohttp import ClientSession

from actions.alerts.desk import AlertDesk
from actions.alerts.model import Alert
from actions.alerts.tables import AlertRecord
from channels.console.forms import COOKIE
from tests.support.console_server import STRONG_PASSWORD, ConsoleServer

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def signed_in(console_server: ConsoleServer, email: str) -> ClientSession:
    await console_server.account(email)
    account = await console_server.directory.authenticate(email, STRONG_PASSWORD)
    assert account is not None
    token = await console_server.directory.start_session(account, None)
    return ClientSession(
        console_server.url, cookies={COOKIE: token}, headers={"Accept-Language": "en"}
    )


async def page(http: ClientSession) -> tuple[str, str]:
    """The Alerts page's HTML and its CSRF token."""
    async with http.get("/console/alerts") as answer:
        assert answer.status == 200
        html = await answer.text()
    found = CSRF.search(html)
    assert found is not None
    return html, found.group(1)


async def record(console_server: ConsoleServer, alert_id: int) -> AlertRecord:
    async with console_server.runtime.database.session() as session:
        found = await session.get(AlertRecord, alert_id)
    assert found is not None
    return found


async def test_firing_and_resolved_alerts_are_listed_and_acknowledged_once(
    console_server: ConsoleServer,
) -> None:
    desk = console_server.runtime.services.get(AlertDesk)
    firing = await desk.raise_alert(Alert("system", "critical", "am:disk", "Disk almost full"))
    await desk.raise_alert(Alert("api", "warning", "am:weather", "Weather API slow"))
    await desk.raise_alert(
        Alert("api", "warning", "am:weather", "Weather API slow", status="resolved")
    )
    http = await signed_in(console_server, "desk@pousada.example")
    async with http:
        html, csrf = await page(http)
        firing_part, _, resolved_part = html.partition('id="recent-heading"')
        assert "Disk almost full" in firing_part
        assert "Weather API slow" not in firing_part
        assert "Weather API slow" in resolved_part

        form = {"csrf": csrf, "alert": str(firing)}
        async with http.post(
            "/console/alerts/acknowledge", data=form, allow_redirects=False
        ) as done:
            assert done.status == 303
        assert (await record(console_server, firing)).acknowledged_by == "desk@pousada.example"
        async with http.post("/console/alerts/acknowledge", data=form) as again:
            assert again.status == 409
            assert 'data-problem="already"' in await again.text()
        html, _ = await page(http)
        assert "Acknowledged by desk@pousada.example" in html

    actions = [line.action for line in await console_server.directory.audit_log()]
    assert actions.count("alert_acknowledged") == 1


async def test_a_silence_is_one_or_twenty_four_hours_and_audited(
    console_server: ConsoleServer,
) -> None:
    desk = console_server.runtime.services.get(AlertDesk)
    alert_id = await desk.raise_alert(Alert("payment", "warning", "pay:slow", "Stripe slow"))
    http = await signed_in(console_server, "night@pousada.example")
    async with http:
        _, csrf = await page(http)
        form = {"csrf": csrf, "alert": str(alert_id), "hours": "24"}
        async with http.post("/console/alerts/silence", data=form, allow_redirects=False) as done:
            assert done.status == 303
    silenced = await record(console_server, alert_id)
    assert silenced.silenced_by == "night@pousada.example"
    assert silenced.silenced_until is not None
    [line] = [
        line
        for line in await console_server.directory.audit_log()
        if line.action == "alert_silenced"
    ]
    assert line.subject == str(alert_id)
    assert line.details == {"hours": 24}


@pytest.mark.parametrize(
    ("path", "form", "status"),
    [
        ("/console/alerts/acknowledge", {"alert": "999999"}, 404),
        ("/console/alerts/acknowledge", {"alert": "-1"}, 400),
        ("/console/alerts/acknowledge", {"alert": "1e3"}, 400),
        ("/console/alerts/acknowledge", {"alert": "١٢"}, 400),
        ("/console/alerts/acknowledge", {}, 400),
        ("/console/alerts/silence", {"alert": "{alert}", "hours": "5"}, 400),
        ("/console/alerts/silence", {"alert": "{alert}", "hours": ""}, 400),
        ("/console/alerts/silence", {"alert": "{alert}", "hours": "24", "csrf": "forged"}, 403),
    ],
)
async def test_bad_presses_are_refused_and_change_nothing(
    console_server: ConsoleServer, path: str, form: dict[str, str], status: int
) -> None:
    desk = console_server.runtime.services.get(AlertDesk)
    alert_id = await desk.raise_alert(Alert("system", "info", "am:x", "Something"))
    http = await signed_in(console_server, "desk@pousada.example")
    async with http:
        _, csrf = await page(http)
        sent = {"csrf": csrf, **{k: v.format(alert=alert_id) for k, v in form.items()}}
        async with http.post(path, data=sent, allow_redirects=False) as answer:
            assert answer.status == status
    untouched = await record(console_server, alert_id)
    assert untouched.acknowledged_by is None
    assert untouched.silenced_until is None
