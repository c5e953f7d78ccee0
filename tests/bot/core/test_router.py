"""Routers: first match wins depth first, cycles and double parents are refused."""

from __future__ import annotations

import pytest

from bot import Context, Outcome, Router
from bot.core.roles import RoleBook
from bot.core.types import STAFF


async def say_a(context: Context[None]) -> Outcome:
    return Outcome("a")


async def say_b(context: Context[None]) -> Outcome:
    return Outcome("b")


def test_own_handlers_win_over_included_ones() -> None:
    root: Router[None] = Router("root")
    child: Router[None] = Router("child")
    root.intent("greet")(say_a)
    child.intent("greet", "thanks")(say_b)
    root.include_router(child)
    assert root.handler_for("greet") is say_a
    assert root.handler_for("thanks") is say_b
    assert root.handler_for("nothing") is None


def test_included_routers_are_searched_in_inclusion_order() -> None:
    root: Router[None] = Router("root")
    first, second = Router[None]("first"), Router[None]("second")
    first.fallback(say_a)
    second.fallback(say_b)
    second.intent("x")(say_b)
    root.include_router(first)
    root.include_router(second)
    assert root.fallback_handler() is say_a
    assert root.handler_for("x") is say_b


def test_an_intent_registered_twice_on_one_router_is_refused() -> None:
    router: Router[None] = Router("r")
    router.intent("greet")(say_a)
    with pytest.raises(ValueError, match="already handles"):
        router.intent("greet")(say_b)


def test_a_router_has_one_parent_and_no_cycles() -> None:
    root, child, grandchild = Router[None]("root"), Router[None]("child"), Router[None]("g")
    root.include_router(child)
    child.include_router(grandchild)
    with pytest.raises(ValueError, match="already included"):
        Router[None]("other").include_router(child)
    with pytest.raises(ValueError, match="cycle"):
        grandchild.include_router(root)
    with pytest.raises(ValueError, match="cycle"):
        root.include_router(root)


def test_an_intent_kept_for_staff_names_its_roles_where_it_is_handled() -> None:
    root, staff = Router[None]("root"), Router[None]("staff")
    staff.intent("forecast", roles=STAFF)(say_a)
    root.intent("greet")(say_b)
    root.include_router(staff)
    assert root.roles_for("forecast") == {"staff", "admin"}
    assert root.roles_for("greet") is None
    assert root.roles_for("nothing") is None


def test_the_role_book_resolves_users_and_groups() -> None:
    book = RoleBook(
        staff=["slack:U1", "slack:group:S9", "discord:group:77"], admins=["telegram:42"]
    )
    assert book.role_of("slack", "U1") == "staff"
    assert book.role_of("slack", "U2", groups=["S9"]) == "staff"
    assert book.role_of("discord", "5", groups=["77"]) == "staff"
    assert book.role_of("telegram", "42") == "admin"
    assert book.role_of("telegram", "U1") == "guest"
    assert book.role_of("slack", "U2", groups=["77"]) == "guest"
