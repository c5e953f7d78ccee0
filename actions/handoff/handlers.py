"""A guest asks for a person: the request is recorded on the conversation for staff to pick up."""

from __future__ import annotations

from actions.services import Services
from bot import Context, Outcome, Router

REQUESTED = "requested"


async def request_person(context: Context[Services]) -> Outcome:
    handoff = context.session.data.get("handoff")
    if isinstance(handoff, dict) and handoff.get("status") == REQUESTED:
        return Outcome("handoff/already_requested")
    context.session.data["handoff"] = {
        "status": REQUESTED,
        "requested_at": context.message.received_at.isoformat(),
        "locale": context.locale,
    }
    return Outcome("handoff/requested")


def create_router() -> Router[Services]:
    router: Router[Services] = Router("handoff")
    router.intent("human")(request_person)
    return router
