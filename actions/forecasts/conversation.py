"""The ``forecast`` intent for staff: demand, cancellation risk or price, with a chart.

Guests are refused by the dispatcher (``roles=STAFF``). The property is the one the question
names, else the default one; the answer is cached per property, model version, period and
language, and says which model version answered. Where job workers run apart from the web
workers, a question not answered yet is handed to them and the answer follows in the same
chat, so a web worker never loads the models (docs/benchmarks.md, "Memory per worker").
"""

from __future__ import annotations

from actions.booking.quotes import Quotes
from actions.forecasts.desk import ForecastDesk
from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.types import STAFF


async def forecast(context: Context[Services]) -> Outcome:
    # The holiday calendar and the question's grammar load on the first forecast question.
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
    if not desk.answers_later:
        return await desk.answer(chosen, question, context.locale, today)
    cached = await desk.cached(chosen.slug, question, context.locale)
    if cached is not None:
        return cached
    await desk.answer_later(chosen.slug, question, context.locale, context.message.address)
    return Outcome("forecasts/computing", {"property": chosen.name})


def create_router() -> Router[Services]:
    router: Router[Services] = Router("forecasts")
    router.intent("forecast", roles=STAFF)(forecast)
    return router
