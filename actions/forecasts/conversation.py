"""The ``forecast`` intent for staff: demand, cancellation risk or price, with a chart.

Guests are refused by the dispatcher (``roles=STAFF``). The property is the one the question
names, else the default one; the answer is cached per property, model version, period and
language, and says which model version answered.
"""

from __future__ import annotations

from typing import Any

from actions.booking.quotes import Quotes
from actions.forecasts.cache import cache_key
from actions.forecasts.desk import ForecastDesk
from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.types import STAFF, Image
from bot.outbound.media import MediaLibrary


async def forecast(context: Context[Services]) -> Outcome:
    # Reading the question needs the holiday calendar and pandas: loaded on the first forecast
    # question, not by every worker at start-up (docs/benchmarks.md, "Memory").
    from actions.forecasts.questions import read_question

    services = context.services
    desk = services.get(ForecastDesk)
    text = context.message.text or ""
    found = await services.get(Quotes).find_properties(text)
    chosen = (
        found[0] if found else await services.get(Quotes).property_by_slug(desk.default_property)
    )
    if chosen is None or chosen.kind == "tour_operator":
        return Outcome("forecasts/unknown_property")
    today = services.today(chosen.timezone)
    question = read_question(text, context.locale, today)
    if not await desk.ready(today):
        return Outcome("forecasts/training")
    model = desk.model_for(question.kind)
    period = f"{question.kind}:{question.start.isoformat()}:{question.end.isoformat()}"
    key = cache_key(chosen.slug, desk.version(model) or "", period, context.locale)

    async def compute() -> dict[str, Any]:
        answer = await desk.answer(question, await desk.place(chosen), context.locale, today)
        stored: dict[str, Any] = {"template": answer.template, "values": answer.values}
        if answer.png is not None:
            image = await services.get(MediaLibrary).publish(answer.png, "image/png", answer.alt)
            stored["image"] = {"url": image.url, "alt": image.alt, "media_key": image.media_key}
        return stored

    cached = await desk.cache.answer(key, compute)
    image = Image(**cached["image"]) if cached.get("image") else None
    return Outcome(cached["template"], cached["values"], image=image)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("forecasts")
    router.intent("forecast", roles=STAFF)(forecast)
    return router
