"""Forms driven turn by turn through the real dispatcher and the keyword parser."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot import Context, Form, Message, Outcome, Router, Slot
from bot.core.buttons import parse_payload
from bot.core.dispatch import Dispatcher
from bot.core.forms import SlotExtractor, text_answer, value_choice
from bot.steps.sessions import Session
from intents.understanding import ModelUnderstanding


def entity(name: str) -> SlotExtractor[None]:
    """Extractor for slots filled by an entity of the understanding step."""

    def extract(context: Context[None], asked: bool) -> Any | None:
        return context.parse.entities.get(name)

    return extract


def valid_email(context: Any, value: Any, values: Any) -> str | None:
    return None if re.fullmatch(r"[^@\s]+@[^@\s]+\.\w+", str(value)) else "contact/bad_email"


def nights_choices(context: Context[None], values: Any) -> list[Any]:
    return [value_choice("nights", str(n), count=n) for n in (1, 2, 3)]


async def done(context: Context[None], values: dict[str, Any]) -> Outcome:
    return Outcome("contact/done", values)


async def faq(context: Context[None]) -> Outcome:
    return Outcome("faq/answer")


async def fallback(context: Context[None]) -> Outcome:
    return Outcome("fallback")


CONTACT: Form[None] = Form(
    name="contact",
    slots=(
        Slot("email", "contact/ask_email", text_answer, valid_email),
        Slot("nights", "contact/ask_nights", text_answer, choices=nights_choices),
        Slot("promo", "contact/ask_promo", entity("promo")),
    ),
    complete=done,
    confirm="contact/confirm",
    interruptions=frozenset({"faq"}),
)


class Conversation:
    def __init__(self, understanding: ModelUnderstanding, form: Form[None] = CONTACT) -> None:
        router: Router[None] = Router("test")
        router.form(form, started_by="book")
        router.intent("faq")(faq)
        router.fallback(fallback)
        self.dispatcher = Dispatcher(router)
        self.understanding = understanding
        self.session = Session(conversation_id="c", locale="en")

    async def say(self, text: str | None = None, payload: str | None = None) -> list[Outcome]:
        message = Message("rest", "c", "u", text=text, payload=payload, locale_hint="en")
        if payload is not None:
            parse = parse_payload(payload, "en")
        else:
            parse = await self.understanding.parse(text or "", "en", self.session)
        return await self.dispatcher.dispatch(
            Context(message, datetime.now(UTC), parse, self.session, None)
        )


def templates(outcomes: list[Outcome]) -> list[str]:
    return [outcome.template for outcome in outcomes]


async def test_the_happy_path_asks_each_slot_confirms_and_completes(
    understanding: ModelUnderstanding,
) -> None:
    chat = Conversation(understanding)
    asked = await chat.say("I want to book a room")
    assert templates(asked) == ["contact/ask_email"]
    assert [choice.payload for choice in asked[0].choices] == ["form:cancel"]
    asked = await chat.say("guest@example.com")
    assert templates(asked) == ["contact/ask_nights"]
    assert [choice.payload for choice in asked[0].choices] == [
        "form:value:1",
        "form:value:2",
        "form:value:3",
        "form:cancel",
    ]
    assert asked[0].values["email"] == "guest@example.com"
    assert templates(await chat.say(payload="form:value:2")) == ["contact/ask_promo"]
    assert chat.session.form is not None
    assert chat.session.form.asking == "promo"


async def test_slots_filled_by_entities_are_not_asked_and_confirm_leads_to_completion(
    understanding: ModelUnderstanding,
) -> None:
    form: Form[None] = Form(
        "email_and_nights",
        (
            Slot("email", "ask_email", entity("email")),
            Slot("nights", "ask_nights", text_answer),
        ),
        done,
        confirm="confirm",
    )
    chat = Conversation(understanding, form)
    asked = await chat.say("I want to book a room guest@example.com")
    assert templates(asked) == ["ask_nights"]
    assert templates(await chat.say("2")) == ["confirm"]
    completed = await chat.say("yes")
    assert completed == [Outcome("contact/done", {"email": "guest@example.com", "nights": "2"})]
    assert chat.session.form is None


async def test_a_control_entity_ends_the_form_before_its_slot_is_filled(
    understanding: ModelUnderstanding,
) -> None:
    form: Form[None] = Form(
        "promo_only", (Slot("promo", "ask_promo", entity("control")),), done, confirm="confirm"
    )
    chat = Conversation(understanding, form)
    assert templates(await chat.say("book")) == ["ask_promo"]
    assert templates(await chat.say("cancel")) == ["engine/form_cancelled"]
    assert chat.session.form is None


async def test_an_invalid_answer_is_explained_and_asked_again(
    understanding: ModelUnderstanding,
) -> None:
    chat = Conversation(understanding)
    await chat.say("book a room")
    outcomes = await chat.say("my email is not here")
    assert templates(outcomes) == ["contact/bad_email", "contact/ask_email"]
    assert outcomes[0].values["value"] == "my email is not here"
    assert templates(await chat.say("ok@example.org")) == ["contact/ask_nights"]


async def test_a_question_in_the_middle_is_answered_and_the_form_resumes(
    understanding: ModelUnderstanding,
) -> None:
    chat = Conversation(understanding)
    await chat.say("book")
    await chat.say("guest@example.com")
    outcomes = await chat.say("what time is breakfast?")
    assert templates(outcomes) == ["faq/answer", "contact/ask_nights"]
    assert outcomes[1].values["resuming"] is True
    assert chat.session.form is not None
    assert chat.session.form.values == {"email": "guest@example.com"}


async def test_cancel_and_start_over_work_at_every_step(understanding: ModelUnderstanding) -> None:
    chat = Conversation(understanding)
    await chat.say("book")
    await chat.say("guest@example.com")
    outcomes = await chat.say("start over")
    assert templates(outcomes) == ["engine/form_restarted", "contact/ask_email"]
    assert chat.session.form is not None
    assert chat.session.form.values == {}
    assert templates(await chat.say(payload="form:cancel")) == ["engine/form_cancelled"]
    assert chat.session.form is None
    assert templates(await chat.say("hmm")) == ["fallback"]


async def test_confirmation_yes_completes_and_no_starts_over(
    understanding: ModelUnderstanding,
) -> None:
    form: Form[None] = Form(
        "email_only",
        (Slot("email", "ask_email", text_answer, valid_email),),
        done,
        confirm="confirm",
    )
    chat = Conversation(understanding, form)
    await chat.say("book")
    confirm = await chat.say("a@b.com")
    assert templates(confirm) == ["confirm"]
    assert [choice.payload for choice in confirm[0].choices] == [
        "form:yes",
        "form:restart",
        "form:cancel",
    ]
    assert templates(await chat.say("no")) == ["engine/form_restarted", "ask_email"]
    await chat.say("c@d.com")
    completed = await chat.say("yes")
    assert completed == [Outcome("contact/done", {"email": "c@d.com"})]
    assert chat.session.form is None


async def test_a_form_removed_by_a_deploy_is_dropped_from_the_session(
    understanding: ModelUnderstanding,
) -> None:
    chat = Conversation(understanding)
    await chat.say("book")
    assert chat.session.form is not None
    chat.session.form.name = "retired"
    assert templates(await chat.say("hmm")) == ["fallback"]
    assert chat.session.form is None
