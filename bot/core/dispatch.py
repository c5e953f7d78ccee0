"""From a parsed message to outcomes: the active form, a form to open, an intent's action."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Generic

import structlog

from bot.core.context import Context, S, as_list
from bot.core.forms import Form, Slot, resolved
from bot.core.router import Router
from bot.core.types import Choice, Outcome
from bot.steps.sessions import FormState

log = structlog.get_logger("rsv360.dispatch")

CHANGE_PREFIX = "form:change:"
FORM_CONTROLS = {
    "form:yes": "yes",
    "form:no": "no",
    "form:cancel": "cancel",
    "form:restart": "restart",
}


class Dispatcher(Generic[S]):
    def __init__(self, router: Router[S], interruption_confidence: float = 0.6) -> None:
        self._router = router
        self._interruption_confidence = interruption_confidence

    async def dispatch(self, context: Context[S]) -> list[Outcome]:
        state = context.session.form
        if state is not None:
            form = self._router.form_named(state.name)
            if form is not None:
                return await self._advance(context, form, state)
            context.session.form = None
        form = self._router.form_started_by(context.parse.intent)
        if form is not None:
            state = FormState(form.name)
            context.session.form = state
            await self._fill(context, form, state)
            return await self._next_step(context, form, state)
        return await self._answer(context)

    async def _answer(self, context: Context[S]) -> list[Outcome]:
        roles = self._router.roles_for(context.parse.intent)
        if roles is not None and context.message.role not in roles:
            log.info(
                "intent_refused",
                intent=context.parse.intent,
                role=context.message.role,
                channel=context.message.channel,
            )
            return [Outcome("engine/not_allowed")]
        handler = self._router.handler_for(context.parse.intent)
        handler = handler or self._router.fallback_handler()
        if handler is None:
            raise LookupError(f"no action for {context.parse.intent!r} and no fallback")
        return as_list(await handler(context))

    async def _advance(self, context: Context[S], form: Form[S], state: FormState) -> list[Outcome]:
        payload = context.message.payload or ""
        if payload.startswith(CHANGE_PREFIX):
            # "Change dates": forget that answer and what depended on it, then ask again.
            _forget(form, state, payload[len(CHANGE_PREFIX) :])
            state.confirming = False
            return await self._next_step(context, form, state)
        control = self._control(context, state)
        if control == "cancel":
            context.session.form = None
            return [Outcome("engine/form_cancelled")]
        if control == "restart" or (state.confirming and control == "no"):
            state.values, state.confirming, state.asking = {}, False, None
            return [Outcome("engine/form_restarted"), *await self._next_step(context, form, state)]
        if state.confirming and control == "yes":
            context.session.form = None
            return as_list(await form.complete(context, dict(state.values)))
        if (
            context.parse.intent in form.interruptions
            and context.parse.confidence >= self._interruption_confidence
        ):
            answer = await self._answer(context)
            return answer + await self._next_step(context, form, state, resuming=True)
        error = await self._fill(context, form, state)
        if error is not None:
            return [error, *await self._next_step(context, form, state)]
        return await self._next_step(context, form, state)

    @staticmethod
    def _control(context: Context[S], state: FormState) -> str | None:
        if context.message.payload in FORM_CONTROLS:
            return FORM_CONTROLS[context.message.payload]
        control = context.parse.entities.get("control")
        if isinstance(control, str):
            return control
        if state.confirming:
            return {"affirm": "yes", "deny": "no"}.get(context.parse.intent)
        return None

    @staticmethod
    async def _fill(context: Context[S], form: Form[S], state: FormState) -> Outcome | None:
        """Take every slot value this turn offers and clear what depended on changed ones.

        An invalid answer to the question asked comes back as its error outcome; invalid
        values of other slots are ignored."""
        changed: set[str] = set()
        error: Outcome | None = None
        free_text: tuple[Slot[S], Any] | None = None
        for slot in form.slots:
            asked = slot.name == state.asking
            value: Any = await resolved(slot.extract(context, asked))
            if value is None:
                continue
            if slot.free_text and asked:
                free_text = (slot, value)
                continue
            problem = await _problem(context, slot, value, state.values)
            if problem is None:
                if state.values.get(slot.name) != value:
                    state.values[slot.name] = value
                    changed.add(slot.name)
            elif asked:
                error = problem
        if free_text is not None and not changed:
            slot, value = free_text
            error = await _problem(context, slot, value, state.values)
            if error is None:
                state.values[slot.name] = value
                changed.add(slot.name)
        for slot in form.slots:
            if slot.name not in changed and changed.intersection(slot.depends_on):
                state.values.pop(slot.name, None)
        return error

    async def _next_step(
        self, context: Context[S], form: Form[S], state: FormState, resuming: bool = False
    ) -> list[Outcome]:
        cancel = Choice("cancel", payload="form:cancel")
        values: dict[str, Any] = {**state.values, "resuming": resuming}
        missing = next((slot for slot in form.slots if slot.name not in state.values), None)
        if missing is not None:
            state.asking, state.confirming = missing.name, False
            if missing.prompt is not None:
                asked = await missing.prompt(context, state.values)
                return [
                    replace(
                        asked,
                        values={**asked.values, "resuming": resuming},
                        choices=(*asked.choices, cancel),
                    )
                ]
            choices = tuple(missing.choices(context, state.values)) if missing.choices else ()
            return [Outcome(missing.ask, values, (*choices, cancel))]
        if form.confirm is not None:
            state.asking, state.confirming = None, True
            confirm_choices = (
                Choice("confirm", payload="form:yes"),
                Choice("start_over", payload="form:restart"),
                cancel,
            )
            if isinstance(form.confirm, str):
                return [Outcome(form.confirm, values, confirm_choices)]
            summary = await form.confirm(context, state.values)
            return [replace(summary, choices=(*summary.choices, *confirm_choices))]
        context.session.form = None
        return as_list(await form.complete(context, dict(state.values)))


def _forget(form: Form[S], state: FormState, name: str) -> None:
    state.values.pop(name, None)
    for slot in form.slots:
        if name in slot.depends_on:
            state.values.pop(slot.name, None)


async def _problem(
    context: Context[S], slot: Slot[S], value: Any, values: dict[str, Any]
) -> Outcome | None:
    if slot.validate is None:
        return None
    problem: str | Outcome | None = await resolved(slot.validate(context, value, values))
    if isinstance(problem, str):
        return Outcome(problem, {"value": value, **values})
    return problem
