"""Routers map intents to actions; capabilities each own one and the composition root nests them.

In the spirit of aiogram's Router: handlers register with decorators on a router instance, the
first router (depth first, in inclusion order) that handles an intent wins, and including a
router twice or in a cycle is refused. An intent may be kept for some roles (``roles=STAFF``):
the dispatcher refuses it to anyone else.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.core.context import Handler, S
from bot.core.types import Role

if TYPE_CHECKING:
    from bot.core.forms import Form

T = TypeVar("T")


class Router(Generic[S]):
    def __init__(self, name: str) -> None:
        self.name = name
        self.parent: Router[S] | None = None
        self._children: list[Router[S]] = []
        self._handlers: dict[str, Handler[S]] = {}
        self._roles: dict[str, frozenset[Role]] = {}
        self._forms: dict[str, Form[S]] = {}
        self._form_triggers: dict[str, str] = {}
        self._fallback: Handler[S] | None = None

    def __repr__(self) -> str:
        return f"Router({self.name!r})"

    def intent(
        self, *intents: str, roles: Collection[Role] | None = None
    ) -> Callable[[Handler[S]], Handler[S]]:
        def register(handler: Handler[S]) -> Handler[S]:
            for intent in intents:
                if intent in self._handlers or intent in self._form_triggers:
                    raise ValueError(f"{self!r} already handles intent {intent!r}")
                self._handlers[intent] = handler
                if roles is not None:
                    self._roles[intent] = frozenset(roles)
            return handler

        return register

    def fallback(self, handler: Handler[S]) -> Handler[S]:
        if self._fallback is not None:
            raise ValueError(f"{self!r} already has a fallback")
        self._fallback = handler
        return handler

    def form(self, form: Form[S], *, started_by: str | None = None) -> None:
        """Register a form; a message with intent ``started_by`` opens it."""
        if form.name in self._forms:
            raise ValueError(f"{self!r} already has form {form.name!r}")
        self._forms[form.name] = form
        if started_by is not None:
            if started_by in self._handlers or started_by in self._form_triggers:
                raise ValueError(f"{self!r} already handles intent {started_by!r}")
            self._form_triggers[started_by] = form.name

    def include_router(self, router: Router[S]) -> Router[S]:
        if router.parent is not None:
            raise ValueError(f"{router!r} is already included in {router.parent!r}")
        ancestor: Router[S] | None = self
        while ancestor is not None:
            if ancestor is router:
                raise ValueError(f"including {router!r} in {self!r} would make a cycle")
            ancestor = ancestor.parent
        router.parent = self
        self._children.append(router)
        return router

    def handler_for(self, intent: str) -> Handler[S] | None:
        return self._first(lambda router: router._handlers.get(intent))

    def roles_for(self, intent: str) -> frozenset[Role] | None:
        """The roles an intent is kept for; None when anyone may use it."""
        owner = self._first(lambda router: router if intent in router._handlers else None)
        return owner._roles.get(intent) if owner is not None else None

    def form_started_by(self, intent: str) -> Form[S] | None:
        return self._first(lambda router: router._forms.get(router._form_triggers.get(intent, "")))

    def form_named(self, name: str) -> Form[S] | None:
        return self._first(lambda router: router._forms.get(name))

    def fallback_handler(self) -> Handler[S] | None:
        return self._first(lambda router: router._fallback)

    def _first(self, pick: Callable[[Router[S]], T | None]) -> T | None:
        """What ``pick`` finds on this router or, depth first, on the routers it includes."""
        found = pick(self)
        for child in self._children:
            if found is not None:
                break
            found = child._first(pick)
        return found
