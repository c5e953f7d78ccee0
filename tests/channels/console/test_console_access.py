"""Nothing in the console opens without a session, and no admin page opens for staff: every
route the app mounts under /console is walked over HTTP, signed out and as a staff member."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from actions.staff.accounts import StaffDirectory
from bot.root.app import build_runtime, create_app
from bot.root.settings import Settings
from channels.console.forms import COOKIE
from tests.support.console_server import ADMIN_KEY, STRONG_PASSWORD, ConsoleServer

PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("GET", "/console/static/{name}")}
ADMIN = re.compile(r"^/console/(staff|forecasts/models|settings)(/|$)")
PARAMETER = re.compile(r"\{[^}]+\}")


def concrete(path: str) -> str:
    """A route's path with each parameter (``{conversation}``) given a value."""
    return PARAMETER.sub("1", path)


def console_routes(app: web.Application) -> list[tuple[str, str]]:
    routes = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/console") and route.method != "HEAD":
            routes.append((route.method, path))
    return sorted(set(routes))


async def test_every_console_route_needs_a_session(console_server: ConsoleServer) -> None:
    app = console_server.app
    walked = [route for route in console_routes(app) if route not in PUBLIC]
    assert ("GET", "/console/today") in walked
    assert ("POST", "/console/staff/add") in walked
    assert ("POST", "/console/conversations/{conversation}/send") in walked
    assert ("POST", "/console/settings/{name}") in walked
    async with ClientSession(cookies={COOKIE: "x" * 43}) as http:  # a token nobody was given
        for method, path in walked:
            async with http.request(
                method, console_server.url + concrete(path), allow_redirects=False
            ) as answer:
                if method == "GET" and answer.status == 303:
                    assert answer.headers["Location"] == "/console/login", path
                else:
                    assert answer.status == 401, (method, path)
                    assert 'action="/console/login"' in await answer.text()


async def test_every_admin_route_is_refused_to_staff(console_server: ConsoleServer) -> None:
    email = await console_server.account("clerk@pousada.example")
    account = await console_server.directory.authenticate(email, STRONG_PASSWORD)
    assert account is not None
    token = await console_server.directory.start_session(account, None)
    admin_routes = [route for route in console_routes(console_server.app) if ADMIN.match(route[1])]
    assert len(admin_routes) == 11
    async with ClientSession(cookies={COOKIE: token}) as http:
        async with http.get(console_server.url + "/console/today") as answer:
            assert answer.status == 200  # the session itself is good
        for method, path in admin_routes:
            async with http.request(
                method, console_server.url + concrete(path), allow_redirects=False
            ) as answer:
                assert answer.status == 403, (method, path)
        async with http.get(console_server.url + "/console/conversations") as answer:
            assert answer.status == 200  # an operating page: staff open it
    assert [account.email for account in await console_server.directory.accounts()] == [email]


async def test_the_refunds_bearer_keys_still_work_beside_the_console(
    console_server: ConsoleServer,
) -> None:
    """/admin/refunds keeps its own access: no console session opens it, a key does."""
    async with ClientSession() as http:
        async with http.get(console_server.url + "/admin/refunds") as answer:
            assert answer.status == 401
        async with http.get(
            console_server.url + "/admin/refunds", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        ) as answer:
            assert answer.status == 200
            assert await answer.json() == {"refunds": []}


async def test_hostile_sign_in_bodies_are_refused_and_change_nothing(
    console_server: ConsoleServer,
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    bodies = [
        b"email=a%40b.example&password=%FF%FE&form=x",  # not UTF-8
        b"email=" + b"a" * 2_000_000,  # over the app's body limit
        b"",
        b"\x00\x01\x02",
        b"email=ana%40pousada.example&password=x&form=forged",  # no form token of ours
    ]
    async with ClientSession() as http:
        for body in bodies:
            async with http.post(
                console_server.url + "/console/login", data=body, headers=form
            ) as answer:
                assert answer.status == 400, body[:40]
                assert "rsv_console" not in answer.cookies
                assert 'data-problem="invalid"' in await answer.text()
    assert await console_server.directory.audit_log() == []


async def test_the_cookie_is_secure_behind_an_https_public_url(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(public_url="https://pousada.example")
    runtime = build_runtime(settings)
    async with TestServer(create_app(settings, runtime)) as server, ClientSession() as http:
        await runtime.services.get(StaffDirectory).add("ana@pousada.example", "staff", "test")
        password = await runtime.services.get(StaffDirectory).reset_password(
            "ana@pousada.example", "test"
        )
        async with http.get(server.make_url("/console/login")) as page:
            form = re.search(r'name="form" value="([^"]+)"', await page.text())
        assert form is not None
        async with http.post(
            server.make_url("/console/login"),
            data={"email": "ana@pousada.example", "password": password, "form": form.group(1)},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 303
            cookie = answer.cookies["rsv_console"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert (cookie["samesite"], cookie["path"]) == ("Lax", "/console")
