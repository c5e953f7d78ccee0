"""The console's Settings page over HTTP on PostgreSQL and Redis, as several workers run: a
saved setting is what the next message meets (rate limits, an FAQ answer, experiments, price
limits, alert routes), another worker picks it up on its refresh, a bad document is refused
naming its field with nothing stored, and every save and reset is in the history (with its diff)
and in the audit log."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import select

from actions.alerts.desk import AlertDesk
from actions.faq.conversation import Faq
from actions.forecasts.price_rules import PriceRulesSource
from actions.staff.tables import SettingRevision
from bot.core.experiments import Experiments
from bot.root.app import build_runtime
from bot.root.settings import PACKAGE_ROOT
from bot.steps.sessions import Session
from channels.console.forms import COOKIE
from tests.support.clock import NOW
from tests.support.console_server import ConsoleServer

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
RATE_LIMITS = (PACKAGE_ROOT / "bot" / "ratelimits.yaml").read_text(encoding="utf-8")
KNOWLEDGE = (PACKAGE_ROOT / "actions" / "faq" / "knowledge" / "pousada-do-mar.yaml").read_text(
    encoding="utf-8"
)
PETS = "Aceitamos pets de pequeno e médio porte"
NEW_PETS = "Aceitamos pets de todos os tamanhos, em todos os quartos."
PETS_QUESTION = "posso levar meu cachorro?"


def one_message_a_minute(document: str) -> str:
    """The rate-limits file with one message a minute per user, REST's override included."""
    lowered = document.replace("  messages: 100/minute", "  messages: 1/minute")
    assert lowered.count("messages: 1/minute") == 2
    return lowered


def new_pets_answer(document: str) -> str:
    changed = document.replace(
        'pt_BR: "Aceitamos pets de pequeno e médio porte nos chalés térreos, com taxa de R$ 50 por'
        ' diária. Eles não podem entrar na área da piscina nem no café."',
        f'pt_BR: "{NEW_PETS}"',
    )
    assert changed != document
    return changed


async def admin(server: ConsoleServer, email: str = "owner@pousada.example") -> ClientSession:
    await server.account(email, "admin")
    session = await server.session(email)
    return ClientSession(
        server.url, cookies={COOKIE: session.cookie}, headers={"Accept-Language": "en"}
    )


async def edit_page(http: ClientSession, name: str) -> tuple[str, str]:
    async with http.get(f"/console/settings/{name}") as answer:
        assert answer.status == 200
        html = await answer.text()
    found = CSRF.search(html)
    assert found is not None
    return html, found.group(1)


async def save(http: ClientSession, name: str, document: str) -> tuple[int, str]:
    _, csrf = await edit_page(http, name)
    async with http.post(
        f"/console/settings/{name}",
        data={"csrf": csrf, "do": "save", "document": document},
        allow_redirects=False,
    ) as answer:
        return answer.status, await answer.text()


async def ask(server: ConsoleServer, text: str, user: str, locale: str = "pt-BR") -> Any:
    async with (
        ClientSession(server.url) as http,
        http.post(
            "/api/v1/messages", json={"user_id": user, "text": text, "locale": locale}
        ) as answer,
    ):
        return answer.status, await answer.json()


async def revisions(server: ConsoleServer) -> list[SettingRevision]:
    async with server.runtime.database.session() as session:
        return list(await session.scalars(select(SettingRevision).order_by(SettingRevision.id)))


async def test_a_lower_rate_limit_refuses_the_next_message(
    shared_console_server: ConsoleServer,
) -> None:
    user = f"guest-{uuid.uuid4().hex}"
    for _ in range(3):
        status, _ = await ask(shared_console_server, "oi", user)
        assert status == 200  # 100 a minute
    async with await admin(shared_console_server) as http:
        status, _ = await save(http, "rate_limits", one_message_a_minute(RATE_LIMITS))
        assert status == 303
    status, _ = await ask(shared_console_server, "oi", user)
    assert status == 200  # a new limit counts from its first message
    status, _ = await ask(shared_console_server, "oi", user)
    assert status == 429  # the second message of the minute, under the saved limit
    other, _ = await ask(shared_console_server, "oi", f"guest-{uuid.uuid4().hex}")
    assert other == 200


async def test_a_saved_faq_answer_is_the_next_answer_and_another_worker_picks_it_up(
    shared_console_server: ConsoleServer,
) -> None:
    status, body = await ask(shared_console_server, PETS_QUESTION, "guest-a")
    assert status == 200
    assert PETS in body["replies"][0]["text"]
    other_worker = build_runtime(shared_console_server.runtime.settings)
    try:
        assert await other_worker.settings_desk.refresh() == []  # nothing saved yet
        async with await admin(shared_console_server) as http:
            status, _ = await save(http, "knowledge/pousada-do-mar", new_pets_answer(KNOWLEDGE))
            assert status == 303
        status, body = await ask(shared_console_server, PETS_QUESTION, "guest-b")
        assert status == 200
        assert body["replies"][0]["text"] == NEW_PETS
        faq = other_worker.services.get(Faq)
        assert PETS in (faq.properties["pousada-do-mar"].answer("pets", "pt_BR") or "")
        assert await other_worker.settings_desk.refresh() == ["knowledge/pousada-do-mar"]
        assert faq.properties["pousada-do-mar"].answer("pets", "pt_BR") == NEW_PETS
        assert await other_worker.settings_desk.refresh() == []  # applied once
    finally:
        await other_worker.database.close()


async def test_save_history_and_reset_are_audited(shared_console_server: ConsoleServer) -> None:
    async with await admin(shared_console_server) as http:
        status, _ = await save(http, "knowledge/pousada-do-mar", new_pets_answer(KNOWLEDGE))
        assert status == 303
        html, csrf = await edit_page(http, "knowledge/pousada-do-mar")
        assert "Changed by owner@pousada.example" in html
        assert f"+    pt_BR: &#34;{NEW_PETS}&#34;" in html  # the diff, before → after
        async with http.get("/console/settings") as answer:
            listing = await answer.text()
        assert listing.count("Changed by owner@pousada.example") == 1
        async with http.post(
            "/console/settings/knowledge/pousada-do-mar",
            data={"csrf": csrf, "do": "reset"},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 303
        html, csrf = await edit_page(http, "knowledge/pousada-do-mar")
        assert "The repository's default is in force." in html
        assert html.count('data-testid="change"') == 2
        async with http.post(
            "/console/settings/knowledge/pousada-do-mar",
            data={"csrf": csrf, "do": "reset"},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 409  # already the default: nothing stored
    status, body = await ask(shared_console_server, PETS_QUESTION, "guest-c")
    assert PETS in body["replies"][0]["text"]
    audit = await shared_console_server.directory.audit_log()
    changes = [(line.action, line.subject) for line in audit if line.action.startswith("setting")]
    assert changes == [
        ("setting_reset", "knowledge/pousada-do-mar"),
        ("setting_saved", "knowledge/pousada-do-mar"),
    ]
    stored = await revisions(shared_console_server)
    assert [row.document is None for row in stored] == [False, True]
    assert {line.details["revision"] for line in audit if line.action.startswith("setting")} == {
        row.id for row in stored
    }


@pytest.mark.parametrize(
    ("name", "document", "reason"),
    [
        ("rate_limits",
         RATE_LIMITS.replace("rest_address: 300/minute", 'rest_address: "300/minut"'),
         "edges.rest_address: &#39;300/minut&#39; is not a rate"),
        ("rate_limits", "default:\n  messages: 10/minute\n defaults: x\n", "line 3: not YAML"),
        ("knowledge/pousada-do-mar", KNOWLEDGE.replace("  pets:\n    pt_BR:", "  pets:\n    xx:"),
         "answers.pets.xx: unknown language"),
        ("knowledge/pousada-do-mar", KNOWLEDGE.replace("slug: pousada-do-mar", "slug: other"),
         "slug: must stay"),
        ("pricing/pousada-do-mar", "seasons:\n  - name: a\n    floor: {standard: 100}\n"
         "  - name: b\n    floor: {standard: 500}\n    ceiling: {standard: 400}\n",
         "seasons[1].floor.standard: above the ceiling"),
        ("pricing/pousada-do-mar", "seasons:\n  - name: a\n    floor: {suite: 100}\n",
         "seasons[0].floor.suite: no room type &#39;suite&#39; at pousada-do-mar"),
        ("experiments", "experiments:\n  greeting_tone:\n    template: smalltalk/greet\n"
         "    variants: {control: 50, warm: -1}\n", "greeting_tone"),
        ("alert_routes", "destinations:\n  desk: {to: &#34;slack:C1&#34;}\nroutes:\n"
         "  - {to: [nobody]}\n", "line 4: unknown destination"),
        ("alert_routes", "destinations:\n  desk: {to: &#34;slack:C1&#34;}\nroutes:\n"
         "  - {to: [desk]}\n", "line 2: destination &#39;desk&#39; needs slack, which is not"),
    ],
)  # fmt: skip
async def test_a_bad_document_is_refused_naming_its_field(
    shared_console_server: ConsoleServer, name: str, document: str, reason: str
) -> None:
    document = document.replace("&#34;", '"')
    async with await admin(shared_console_server) as http:
        status, html = await save(http, name, document)
    assert status == 400
    assert 'data-problem="invalid"' in html
    assert reason in html
    assert document.splitlines()[-1].replace('"', "&#34;").replace("'", "&#39;") in html
    assert await revisions(shared_console_server) == []
    assert [
        line for line in await shared_console_server.directory.audit_log()
        if line.action.startswith("setting")
    ] == []  # fmt: skip


async def test_a_stored_document_that_no_longer_checks_keeps_the_last_good_value(
    shared_console_server: ConsoleServer,
) -> None:
    desk = shared_console_server.runtime.settings_desk
    async with await admin(shared_console_server) as http:
        status, _ = await save(http, "knowledge/pousada-do-mar", new_pets_answer(KNOWLEDGE))
        assert status == 303
    other_worker = build_runtime(shared_console_server.runtime.settings)
    try:
        assert await other_worker.settings_desk.refresh() == ["knowledge/pousada-do-mar"]
        async with shared_console_server.runtime.database.session() as session:
            session.add(
                SettingRevision(
                    name="knowledge/pousada-do-mar",
                    document="answers: [",
                    changed_by="an older release",
                    changed_at=(await revisions(shared_console_server))[0].changed_at,
                )
            )
        assert await other_worker.settings_desk.refresh() == []
        faq = other_worker.services.get(Faq)
        assert faq.properties["pousada-do-mar"].answer("pets", "pt_BR") == NEW_PETS
        assert await desk.refresh() == []
    finally:
        await other_worker.database.close()


async def test_unknown_settings_and_bad_requests_change_nothing(
    shared_console_server: ConsoleServer,
) -> None:
    async with await admin(shared_console_server) as http:
        for name in ("nothing", "knowledge/nowhere", "..%2Fetc", "RATE_LIMITS"):
            async with http.get(f"/console/settings/{name}") as answer:
                assert answer.status == 404, name
        _, csrf = await edit_page(http, "rate_limits")
        async with http.post(
            "/console/settings/rate_limits", data={"csrf": csrf, "do": "save"}
        ) as answer:
            assert answer.status == 400  # no document
        async with http.post(
            "/console/settings/rate_limits",
            data={"csrf": csrf, "do": "save", "document": "x" * (64 * 1024 + 1)},
        ) as answer:
            assert answer.status == 400
        async with http.post(
            "/console/settings/rate_limits",
            data={"do": "save", "document": one_message_a_minute(RATE_LIMITS)},
        ) as answer:
            assert answer.status == 403  # no CSRF token
    assert await revisions(shared_console_server) == []


EXPERIMENTS = (PACKAGE_ROOT / "prompts" / "experiments.yaml").read_text(encoding="utf-8")
ROUTES = """destinations:
  desk: {to: "https://hooks.slack.example/services/T1", locale: en}
routes:
  - {severities: [critical], to: [desk]}
"""


async def test_experiments_price_limits_and_alert_routes_apply_where_saved_and_elsewhere(
    shared_console_server: ConsoleServer,
) -> None:
    runtime = shared_console_server.runtime
    other_worker = build_runtime(runtime.settings)
    stopped = EXPERIMENTS.replace(
        "    status: running\n", "    status: stopped\n    winner: warm\n", 1
    )
    assert stopped != EXPERIMENTS
    floors = (
        (PACKAGE_ROOT / "actions" / "forecasts" / "pricing" / "pousada-do-mar.yaml")
        .read_text(encoding="utf-8")
        .replace("floor: {standard: 240,", "floor: {standard: 250,")
    )
    try:
        async with await admin(shared_console_server) as http:
            for name, document in (
                ("experiments", stopped),
                ("pricing/pousada-do-mar", floors),
                ("alert_routes", ROUTES),
            ):
                status, _ = await save(http, name, document)
                assert status == 303, name
        assert sorted(await other_worker.settings_desk.refresh()) == [
            "alert_routes",
            "experiments",
            "pricing/pousada-do-mar",
        ]
        for serving in (runtime, other_worker):
            session = Session("web:guest", "pt_BR", "guest")
            shown = await serving.services.get(Experiments).expose(
                "smalltalk/greet", "guest", "web:guest", session, NOW
            )
            assert shown is not None
            assert (shown.variant, shown.recorded) == ("warm", False)  # the winner, to everyone
            rules = serving.services.get(PriceRulesSource).rules("pousada-do-mar")
            assert rules is not None
            assert rules.seasons[-1].floor["standard"] == 250
            desk = serving.services.get(AlertDesk)
            assert [d.name for d in desk.routing.destinations_for("system", "critical")] == ["desk"]
    finally:
        await other_worker.database.close()
