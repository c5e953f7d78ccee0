"""The console's Forecasts page over HTTP: each property's occupancy with its band, cancellation
risk and suggested prices with their charts (``data:`` PNGs with text alternatives stating the
figures) and tables; where job workers answer apart, the page says the answers are being
computed until a worker has cached them; admins promote and roll back model versions (audited,
refused clearly when not possible), staff cannot; bad input is refused and changes nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession
from redis.asyncio import Redis

from actions.forecasts.registry import Registry
from bot.root.app import build_runtime, runtime_lifespan
from bot.root.settings import Settings
from bot.stores.database import Database
from channels.console.forms import COOKIE
from tests.support.console_server import ConsoleServer, serve_console
from tests.support.forecasts import PNG_SIGNATURE
from tests.support.services import POSTGRESQL_URL, REDIS_URL

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CHART = re.compile(r'<img class="chart" src="data:image/png;base64,([^"]+)"[^>]*alt="([^"]+)"')
RISK_ROW = re.compile(
    r'<tr><td>([^<]+)</td><td>[^<]+</td><td>[^<]+</td><td class="number">(\d+)%</td></tr>'
)
DASH = "\N{EN DASH}"
PANELS = ("demand", "cancellation", "price")


@pytest.fixture
def models(trained: Path, tmp_path: Path) -> Path:
    """The module's trained models, copied so that promoting and rolling back stay here."""
    copied = tmp_path / "forecast-models"
    shutil.copytree(trained, copied)
    return copied


@pytest.fixture
async def forecast_server(
    make_settings: Callable[..., Settings], models: Path
) -> AsyncIterator[ConsoleServer]:
    settings = make_settings(console={"live_seconds": 0.3}, forecast={"models_dir": models})
    async with serve_console(settings) as server:
        yield server


async def signed_in(server: ConsoleServer, email: str, role: str = "staff") -> ClientSession:
    session = await server.session(await server.account(email, role))
    return ClientSession(
        server.url, cookies={COOKIE: session.cookie}, headers={"Accept-Language": "en"}
    )


async def get(http: ClientSession, path: str, status: int = 200) -> str:
    async with http.get(path, allow_redirects=False) as answer:
        assert answer.status == status, path
        return await answer.text()


def charts(html: str) -> list[tuple[bytes, str]]:
    return [(base64.b64decode(data), alt) for data, alt in CHART.findall(html)]


async def test_staff_see_each_forecast_with_its_chart_alternative_and_table(
    forecast_server: ConsoleServer,
) -> None:
    async with await signed_in(forecast_server, "desk@pousada.example") as http:
        html = await get(http, "/console/forecasts?property=pousada-do-mar&days=30")
        for kind in PANELS:
            assert f'data-testid="panel-{kind}"' in html
        assert "computing" not in html
        found = charts(html)
        assert len(found) == 3
        for png, _ in found:
            assert png.startswith(PNG_SIGNATURE)
        demand_alt = found[0][1]
        occupancy = re.search(r"Occupancy forecast</th><td class=\"number\">(\d+)%", html)
        band = re.search(rf"80% band</th><td class=\"number\">(\d+){DASH}(\d+)%", html)
        assert occupancy is not None
        assert band is not None
        assert f"{occupancy.group(1)}% on average" in demand_alt
        assert f"80% band {band.group(1)}{DASH}{band.group(2)}%" in demand_alt
        risky = RISK_ROW.findall(html)
        assert risky
        for reference, chance in risky:
            assert f"{reference} {chance}%" in found[1][1]
        assert "Chart of the suggested nightly rates per room type:" in found[2][1]
        assert "Average suggested rate" in html

        week = await get(http, "/console/forecasts?property=pousada-do-mar&days=7")
        quarter = await get(http, "/console/forecasts?days=90")  # the first property
        assert week != quarter
        assert '<option value="90" selected>Next 90 days</option>' in quarter
        assert 'aria-current="page">Forecasts' in quarter


@pytest.mark.parametrize(
    ("query", "status", "problem"),
    [
        ("?days=12", 400, "invalid"),
        ("?days=30x", 400, "invalid"),
        ("?property=../etc&days=7", 400, "invalid"),
        ("?property=" + "a" * 200, 400, "invalid"),
        ("?property=no-such-inn&days=7", 404, "unknown"),
    ],
)
async def test_a_bad_choice_is_refused_with_the_problem_named(
    forecast_server: ConsoleServer, query: str, status: int, problem: str
) -> None:
    async with await signed_in(forecast_server, "desk@pousada.example") as http:
        html = await get(http, f"/console/forecasts{query}", status)
    assert f'data-problem="{problem}"' in html


def second_version(models: Path, version: str) -> str:
    """Another stored version of the same model, as a retrain would leave it (same estimators,
    its own name): promoting and rolling back need two."""
    metadata = json.loads((models / f"{version}.json").read_text("utf-8"))
    other = f"{metadata['model']}-29991231235959"
    shutil.copy(models / f"{version}.skops", models / f"{other}.skops")
    metadata["version"] = other
    (models / f"{other}.json").write_text(json.dumps(metadata), "utf-8")
    return other


async def press(http: ClientSession, path: str, csrf: str, **form: str) -> tuple[int, str]:
    async with http.post(path, data={"csrf": csrf, **form}, allow_redirects=False) as answer:
        return answer.status, await answer.text()


async def test_admins_promote_and_roll_back_model_versions_audited(
    forecast_server: ConsoleServer, models: Path
) -> None:
    registry = Registry(models)
    first = registry.promoted("demand")
    assert first is not None
    other = second_version(models, first)
    async with await signed_in(forecast_server, "owner@pousada.example", "admin") as http:
        html = await get(http, "/console/forecasts/models")
        csrf = CSRF.search(html)
        assert csrf is not None
        token = csrf.group(1)
        assert f'data-version="{other}"' in html
        assert f"Serving: {first}" in html
        assert "AUC" in html
        assert "MAPE" in html

        assert (await press(http, "/console/forecasts/models/promote", token, version=other))[
            0
        ] == 303
        assert registry.promoted("demand") == other
        status, html = await press(http, "/console/forecasts/models/promote", token, version=other)
        assert (status, 'data-problem="already"' in html) == (409, True)

        assert (await press(http, "/console/forecasts/models/rollback", token, model="demand"))[
            0
        ] == 303
        assert registry.promoted("demand") == first
        status, html = await press(
            http, "/console/forecasts/models/rollback", token, model="demand"
        )
        assert (status, 'data-problem="nothing_earlier"' in html) == (409, True)
        assert registry.promoted("demand") == first

    audit = [(line.action, line.subject) for line in await forecast_server.directory.audit_log()]
    assert ("forecast_model_promoted", other) in audit
    assert ("forecast_model_rolled_back", "demand") in audit


@pytest.mark.parametrize(
    ("path", "form", "status", "problem"),
    [
        ("promote", {"version": "demand-20000101000000"}, 404, "unknown"),
        ("promote", {"version": "../promoted"}, 400, "invalid"),
        ("promote", {"version": "x" * 300}, 400, "invalid"),
        ("promote", {}, 400, "invalid"),
        ("rollback", {"model": "weather"}, 404, "unknown"),
        ("rollback", {"model": "Demand!"}, 400, "invalid"),
    ],
)
async def test_bad_model_presses_are_refused_and_change_nothing(
    forecast_server: ConsoleServer, models: Path, path: str, form: dict[str, str], status: int,
    problem: str,
) -> None:  # fmt: skip
    before = (models / "promoted.json").read_bytes()
    async with await signed_in(forecast_server, "owner@pousada.example", "admin") as http:
        csrf = CSRF.search(await get(http, "/console/forecasts/models"))
        assert csrf is not None
        answered, html = await press(
            http, f"/console/forecasts/models/{path}", csrf.group(1), **form
        )
    assert (answered, f'data-problem="{problem}"' in html) == (status, True)
    assert (models / "promoted.json").read_bytes() == before
    audit = [line.action for line in await forecast_server.directory.audit_log()]
    assert not [action for action in audit if action.startswith("forecast_model")]


async def test_staff_cannot_see_or_change_the_model_versions(
    forecast_server: ConsoleServer, models: Path
) -> None:
    first = Registry(models).promoted("demand")
    assert first is not None
    other = second_version(models, first)
    async with await signed_in(forecast_server, "desk@pousada.example") as http:
        html = await get(http, "/console/forecasts")
        assert "/console/forecasts/models" not in html
        await get(http, "/console/forecasts/models", 403)
        csrf = CSRF.search(html)
        assert csrf is not None
        status, _ = await press(
            http, "/console/forecasts/models/promote", csrf.group(1), version=other
        )
    assert status == 403
    assert Registry(models).promoted("demand") == first


async def test_where_job_workers_answer_apart_the_page_says_computing_until_they_have(
    make_settings: Callable[..., Settings], models: Path, redis: Redis, postgresql: Database
) -> None:
    """The web process hands each answer to the job workers and says so with a reload link
    (it never loads the models); once a worker has cached them, a reload shows them."""
    settings = make_settings(
        console={"live_seconds": 0.3},
        redis_url=REDIS_URL,
        database_url=POSTGRESQL_URL,
        forecast={"models_dir": models},
        jobs={"in_serve": False},
    )
    async with (
        serve_console(settings) as server,
        await signed_in(server, "desk@pousada.example") as http,
    ):
        path = "/console/forecasts?property=pousada-do-mar&days=7"
        html = await get(http, path)
        assert 'data-testid="computing"' in html
        assert f'href="{path.replace("&", "&amp;")}"' in html
        assert "<script" not in html.split("</head>")[1]
        assert charts(html) == []
        async with runtime_lifespan(build_runtime(settings), upkeep=True), asyncio.timeout(120):
            while len(charts(await get(http, path))) < 3:  # noqa: ASYNC110 - a worker's doing
                await asyncio.sleep(0.2)
        assert 'data-testid="computing"' not in await get(http, path)
