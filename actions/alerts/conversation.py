"""Staff answer alerts in chat: Acknowledge, Silence 1 h / 24 h (the alert's buttons) and the
list of open alerts (``alerts_open``). Kept for staff roles: anyone else pressing a forwarded
button is refused by the dispatcher, which logs the refusal."""

from __future__ import annotations

from actions.alerts.desk import AlertDesk
from actions.services import Services
from bot import Choice, Context, Outcome, Router
from bot.core.buttons import button_payload
from bot.core.types import STAFF

Ctx = Context[Services]
SILENCE_HOURS = (1, 24)
LISTED = 10


async def acknowledge(context: Ctx) -> Outcome:
    alert_id = context.record_id
    result = (
        await context.services.get(AlertDesk).acknowledge(alert_id, context.staff_actor)
        if alert_id
        else "unknown"
    )
    return Outcome("alerts/staff_decided", {"id": alert_id, "result": result, "hours": 0})


async def silence(context: Ctx) -> Outcome:
    alert_id = context.record_id
    raw = str(context.parse.entities.get("hours", ""))
    hours = int(raw) if raw.isdigit() and int(raw) in SILENCE_HOURS else 0
    result = "unknown"
    if alert_id and hours:
        result = await context.services.get(AlertDesk).silence(alert_id, context.staff_actor, hours)
    return Outcome("alerts/staff_decided", {"id": alert_id, "result": result, "hours": hours})


async def open_alerts(context: Ctx) -> Outcome:
    records = await context.services.get(AlertDesk).history.open_alerts(LISTED)
    alerts = [
        {
            "id": record.id,
            "type": record.type,
            "severity": record.severity,
            "summary": record.summary,
            "acknowledged_by": record.acknowledged_by,
        }
        for record in records
    ]
    choices = tuple(
        Choice("alert_ack", button_payload("alert_ack", id=record.id))
        for record in records[:3]
        if record.acknowledged_by is None
    )
    return Outcome("alerts/open", {"alerts": alerts}, choices)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("alerts")
    router.intent("alert_ack", roles=STAFF)(acknowledge)
    router.intent("alert_silence", roles=STAFF)(silence)
    router.intent("alerts_open", roles=STAFF)(open_alerts)
    return router
