"""The guest's data requests: "meus dados" / "my data" / "mis datos" sends what is stored
about them, "apagar meus dados" / "delete my data" / "borrar mis datos" erases it after a
confirmation. Both ask first who the guest is: a booking code with its e-mail (every
reservation made with that e-mail), or this chat's own identity (this chat's data only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.booking.reservations import Reservations
from actions.privacy.records import Guest, GuestRecords, export_bytes
from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.forms import Form, Slot, chosen_value, value_choice
from bot.core.types import Address, Choice
from bot.outbound.media import MediaLibrary

Ctx = Context[Services]
THIS_CHAT = "chat"
SESSION_KEPT = ("locale", "experiments", "history", "data")
"""What of the session the copy shows: the rest is the engine's bookkeeping."""


def proof(context: Ctx, asked: bool) -> dict[str, str] | None:
    """This chat's identity (the button), or a booking code with an e-mail in one message."""
    if chosen_value(context) == THIS_CHAT:
        return {"scope": THIS_CHAT}
    code, email = context.parse.entities.get("booking_code"), context.parse.entities.get("email")
    if isinstance(code, str) and isinstance(email, str):
        return {"code": code, "email": email}
    return None


async def proof_holds(context: Ctx, value: Any, values: Any) -> str | None:
    if value.get("scope") == THIS_CHAT:
        return None
    found = await context.services.get(Reservations).find(value["code"], value["email"])
    return None if found is not None else "privacy/proof_failed"


def proof_choices(context: Ctx, values: Any) -> list[Choice]:
    return [value_choice("privacy_this_chat", THIS_CHAT)]


def guest_of(context: Ctx, values: dict[str, Any]) -> Guest:
    address = Address(context.message.channel, context.message.conversation_id)
    email = values["proof"].get("email")
    return Guest(address, email.strip().lower() if email else None)


async def send_copy(context: Ctx, values: dict[str, Any]) -> list[Outcome]:
    records = context.services.get(GuestRecords)
    guest = guest_of(context, values)
    session = {name: getattr(context.session, name) for name in SESSION_KEPT}
    document = await records.collect(guest, session)
    published = await context.services.get(MediaLibrary).publish(
        export_bytes(document), "application/json", "data.json"
    )
    await records.audit_export(guest, document)
    summary = {
        "reservations": document["reservations"],
        "messages": len(session["history"]),
        "consent": document["message_consent"],
        "handoff": document["conversation"]["handoff"] is not None,
        "by_booking": guest.email is not None,
    }
    return [
        Outcome("privacy/copy", summary, (Choice("download_data", url=published.url),)),
    ]


async def erase_summary(context: Ctx, values: Mapping[str, Any]) -> Outcome:
    return Outcome("privacy/erase_confirm", {"by_booking": "email" in values["proof"]})


async def erase(context: Ctx, values: dict[str, Any]) -> Outcome:
    report = await context.services.get(GuestRecords).erase(guest_of(context, values))
    context.session.forgotten = True  # deleted after this turn, language and answer included
    return Outcome("privacy/erased", {"erased": report.erased, "kept": report.kept})


COPY_FORM: Form[Services] = Form(
    name="privacy_copy",
    slots=(Slot("proof", "privacy/ask_proof", proof, proof_holds, choices=proof_choices),),
    complete=send_copy,
    interruptions=frozenset({"help", "human"}),
)
ERASE_FORM: Form[Services] = Form(
    name="privacy_erase",
    slots=(Slot("proof", "privacy/ask_proof", proof, proof_holds, choices=proof_choices),),
    complete=erase,
    confirm=erase_summary,
    interruptions=frozenset({"help", "human"}),
)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("privacy")
    router.form(COPY_FORM, started_by="my_data")
    router.form(ERASE_FORM, started_by="delete_my_data")
    return router
