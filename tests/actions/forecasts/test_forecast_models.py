"""Forecast models on small generated data: seasonality recovered, calibrated risk, the registry
(promotion, rollback, schema refusal), the importer and the charts."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry
from sklearn.metrics import roc_auc_score
from sqlalchemy import func, select

from actions.forecasts import cancellation, charts, demand, training
from actions.forecasts.history import load_history, to_frame
from actions.forecasts.importer import import_file
from actions.forecasts.metrics import PromotedModelAge
from actions.forecasts.questions import read_question
from actions.forecasts.registry import MODELS, Registry, RegistryError, SchemaMismatch
from actions.forecasts.tables import HistoricalBooking
from bot.stores.database import Database
from tests.support.forecasts import PNG_SIGNATURE

START = date(2024, 1, 1)


def seasonal_history(days: int = 420, seed: int = 3) -> pd.DataFrame:
    """Arrivals with a known weekly shape (Saturdays three times a weekday) and cancellations
    that grow with lead time; every booking made 0 to 20 days ahead."""
    random = np.random.default_rng(seed)
    rows = []
    for offset in range(days):
        arrival = START + timedelta(days=offset)
        for _ in range(random.poisson(9 if arrival.weekday() == 5 else 3)):
            lead = int(random.integers(0, 21))
            cancelled = random.random() < 0.02 + 0.045 * lead
            rows.append(
                {
                    "property": "test-inn",
                    "room_type": "double",
                    "meal": "BB",
                    "country": "BRA",
                    "market_segment": "Direct",
                    "distribution_channel": "Direct",
                    "deposit_type": "No Deposit",
                    "customer_type": "Transient",
                    "agent": "none",
                    "company": "none",
                    "nights": 1,
                    "weekend_nights": 0,
                    "adults": 2,
                    "children": 0,
                    "babies": 0,
                    "adr": 300.0,
                    "previous_cancellations": 0,
                    "previous_bookings_not_canceled": 0,
                    "parking_spaces": 0,
                    "special_requests": 0,
                    "is_canceled": cancelled,
                    "is_repeated_guest": False,
                    "booked_on": arrival - timedelta(days=lead),
                    "arrival": arrival,
                    "cancelled_on": arrival - timedelta(days=int(random.integers(0, lead + 1)))
                    if cancelled
                    else None,
                }
            )
    return to_frame(rows)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return seasonal_history()


def test_demand_model_recovers_the_weekly_seasonality(history: pd.DataFrame) -> None:
    model = demand.train(history)
    origin = demand.as_of(history)  # the end of the history, as in service
    table = demand.forecast(model, history, "test-inn", origin, 90)
    # beyond 20 days nothing is booked yet: what remains is the learnt calendar
    ahead = table[table["date"] > origin + pd.Timedelta(days=21)]
    saturdays = ahead[ahead["date"].dt.weekday == 5]["arrivals_median"].mean()
    weekdays = ahead[ahead["date"].dt.weekday.isin([0, 1, 2, 3])]["arrivals_median"].mean()
    assert 2.2 < saturdays / weekdays < 3.8  # the true ratio is 3 (9 vs 3 bookings a day)
    assert (table["arrivals_low"] <= table["arrivals_median"]).all()
    assert (table["arrivals_median"] <= table["arrivals_high"]).all()


def test_demand_interval_covers_about_eighty_percent_in_a_backtest(history: pd.DataFrame) -> None:
    from actions.forecasts.backtest import rolling_origin

    result = rolling_origin(history, "2025-01-10", "2025-02-20", max_horizon=14, report=(7,))
    assert 0.65 <= result.coverage <= 0.95
    assert result.mape[7] < result.naive_mape[7] + 0.05


def test_cancellation_risk_ranks_and_is_calibrated() -> None:
    history = seasonal_history(days=900, seed=5)
    early, late = cancellation.temporal_split(history, "2025-10-01", "2026-06-30")
    model = cancellation.train(early)
    scores = model.predict(late)
    truth = late["is_canceled"].to_numpy()
    assert roc_auc_score(truth, scores) > 0.7
    # calibrated: in each third of the predictions, as many cancel as predicted (± 0.07)
    for chosen in np.array_split(np.argsort(scores), 3):
        assert abs(scores[chosen].mean() - truth[chosen].mean()) < 0.07


# -- the registry ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(history: pd.DataFrame) -> cancellation.CancellationModel:
    return cancellation.train(history)


def test_promotion_and_rollback(tmp_path: Path, fitted: cancellation.CancellationModel) -> None:
    registry = Registry(tmp_path)
    first = registry.save("cancellation", training.to_parts(fitted), {"rows": 1})
    second = registry.save("cancellation", training.to_parts(fitted), {"rows": 2})
    assert first != second
    assert registry.promoted("cancellation") is None
    registry.promote(first)
    registry.promote(second)
    assert registry.promoted("cancellation") == second
    assert registry.rollback("cancellation") == first
    assert registry.promoted("cancellation") == first
    with pytest.raises(RegistryError, match="no earlier promoted version"):
        registry.rollback("cancellation")
    with pytest.raises(RegistryError, match="no model version"):
        registry.promote("cancellation-19990101000000")
    parts, metadata = registry.load(first)
    assert metadata["feature_schema"] == fitted.schema
    assert {"version", "trained_at", "code_version", "rows"} <= set(metadata)
    restored = training.from_parts("cancellation", parts)
    sample = seasonal_history(days=30, seed=9)
    assert np.allclose(restored.predict(sample), fitted.predict(sample))


def test_the_promoted_versions_training_time_is_exported(
    tmp_path: Path, fitted: cancellation.CancellationModel
) -> None:
    registry = Registry(tmp_path)
    exported = CollectorRegistry()
    exported.register(PromotedModelAge(registry))
    name = "rsv_forecast_model_trained_timestamp_seconds"
    version = registry.save("cancellation", training.to_parts(fitted), {"rows": 1})
    assert exported.get_sample_value(name, {"model": "cancellation"}) is None, "not promoted"
    registry.promote(version)
    trained = exported.get_sample_value(name, {"model": "cancellation"})
    assert trained is not None
    assert abs(trained - time.time()) < 60, "trained at the frozen clock's now"
    assert exported.get_sample_value(name, {"model": "demand"}) is None


def test_a_model_with_another_feature_schema_refuses_to_load(
    tmp_path: Path, fitted: cancellation.CancellationModel
) -> None:
    registry = Registry(tmp_path)
    version = registry.save("cancellation", training.to_parts(fitted), {"rows": 1})
    metadata_path = tmp_path / f"{version}.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["feature_schema"] = [*metadata["feature_schema"][1:], "loyalty_tier"]
    metadata_path.write_text(json.dumps(metadata))
    with pytest.raises(
        SchemaMismatch, match=r"missing \['lead_time'\], unknown \['loyalty_tier'\]"
    ):
        registry.load(version)
    with pytest.raises(SchemaMismatch):
        registry.promote(version)
    assert registry.promoted("cancellation") is None


# -- the importer -----------------------------------------------------------------------------

HEADER = (
    "hotel,is_canceled,lead_time,arrival_date_year,arrival_date_month,arrival_date_week_number,"
    "arrival_date_day_of_month,stays_in_weekend_nights,stays_in_week_nights,adults,children,"
    "babies,meal,country,market_segment,distribution_channel,is_repeated_guest,"
    "previous_cancellations,previous_bookings_not_canceled,reserved_room_type,"
    "assigned_room_type,booking_changes,deposit_type,agent,company,days_in_waiting_list,"
    "customer_type,adr,required_car_parking_spaces,total_of_special_requests,"
    "reservation_status,reservation_status_date"
)
GOOD = (
    "Resort Hotel,0,10,2016,July,27,4,1,2,2,0,0,BB,PRT,Direct,Direct,0,0,0,A,A,0,"
    "No Deposit,NULL,NULL,0,Transient,120.5,0,1,Check-Out,2016-07-07"
)
CANCELLED = (
    "City Hotel,1,40,2016,August,32,5,0,2,2,NA,0,BB,GBR,Online TA,TA/TO,0,0,0,A,A,0,"
    "No Deposit,9,NULL,0,Transient,95,0,0,Canceled,6/20/2016"
)
SAMPLE = [
    HEADER,
    GOOD,
    "Resort Hotel,0,10,2016,July",  # line 3: too few fields
    CANCELLED,
    GOOD.replace(",10,2016,", ",ten,2016,"),  # line 5: lead time not a number
    GOOD,  # an identical booking (a group): kept, twice
]


async def test_import_reports_malformed_lines_and_a_second_import_adds_nothing(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bookings.csv"
    path.write_text("\n".join(SAMPLE) + "\n", encoding="utf-8")
    report = await import_file(database, path, progress=False)
    assert (report.read, report.stored) == (5, 3)
    assert [line for line, _ in report.errors] == [3, 5]
    assert "lead_time is not a number" in report.errors[1][1]
    again = await import_file(database, path, progress=False)
    assert (again.stored, again.skipped) == (0, 2)
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(HistoricalBooking)) == 3
    frame = await load_history(database)
    assert sorted(frame["property"].unique()) == ["city-hotel", "resort-hotel"]
    city = frame[frame["property"] == "city-hotel"].iloc[0]
    assert city["is_canceled"]
    assert city["cancelled_on"] == pd.Timestamp("2016-06-20")
    assert city["arrival"] - city["booked_on"] == pd.Timedelta(days=40)


async def test_import_reads_a_zip_and_names_the_property(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bookings.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hotel_bookings.csv", "\n".join([HEADER, GOOD, CANCELLED]))
    report = await import_file(database, path, property_name="Pousada Teste", progress=False)
    assert (report.stored, report.skipped) == (2, 0)
    frame = await load_history(database, "pousada-teste")
    assert len(frame) == 2


# -- charts and questions -----------------------------------------------------------------------

WORDS = dict.fromkeys(
    (
        "forecast",
        "interval",
        "last_year",
        "on_books",
        "occupancy",
        "probability",
        "suggested",
        "usual",
        "rate",
    ),
    "label",
)


def decoded(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    return np.asarray(matplotlib.image.imread(io.BytesIO(png), format="png"))


def test_charts_are_valid_pngs(history: pd.DataFrame) -> None:
    model = demand.train(history)
    table = demand.forecast(model, history, "test-inn", pd.Timestamp("2025-01-15"), 30)
    image = decoded(charts.demand_chart(table, WORDS, "Test Inn"))
    assert image.shape[0] > 200
    assert image.shape[1] > 500
    bars = decoded(charts.risk_chart(["H1 · double", "H2 · double"], [0.7, 0.2], WORDS, "risk"))
    assert bars.shape[1] > 500
    days = pd.date_range("2025-01-01", periods=5)
    prices = pd.DataFrame(
        {"date": days, "suggested": 300.0, "usual_rate": 280.0, "floor": 250.0, "ceiling": 400.0}
    )
    assert decoded(charts.price_chart({"Double": prices}, WORDS, "price")).shape[1] > 500


@pytest.mark.parametrize(
    ("text", "locale", "kind", "start", "end"),
    [
        ("previsão de ocupação de dezembro na Pousada do Mar", "pt_BR", "demand",
         "2026-12-03", "2026-12-31"),
        ("which bookings this week are likely to cancel?", "en", "cancellation",
         "2026-12-03", "2026-12-06"),
        ("preço sugerido pro feriado", "pt_BR", "price", "2026-12-24", "2026-12-26"),
        ("¿qué precio cobrar la semana que viene?", "es", "price", "2026-12-07", "2026-12-13"),
        ("ocupação do mês que vem", "pt_BR", "demand", "2027-01-01", "2027-01-31"),
        ("forecast for June", "en", "demand", "2026-12-03", "2027-01-01"),
    ],
)  # fmt: skip
def test_questions_name_their_kind_and_period(
    text: str, locale: str, kind: str, start: str, end: str
) -> None:
    question = read_question(text, locale, date(2026, 12, 2))
    assert (question.kind, question.start.isoformat(), question.end.isoformat()) == (
        kind,
        start,
        end,
    )
    assert question.clipped == ("June" in text)


# -- the command line ---------------------------------------------------------------------------


def test_ml_import_prints_a_summary_with_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.root.cli import main

    monkeypatch.setenv("RSV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RSV_DATABASE_URL", raising=False)
    path = tmp_path / "bookings.csv"
    path.write_text("\n".join(SAMPLE) + "\n", encoding="utf-8")
    for stored in (3, 0):
        with pytest.raises(SystemExit) as exit_status:
            main(["ml", "import", str(path)])
        assert exit_status.value.code == 0
        output = capsys.readouterr().out
        assert f"5 rows read, {stored} new rows stored, 2 skipped" in output
        assert "line 3: 5 fields instead of 32" in output
        assert "line 5: lead_time is not a number: 'ten'" in output
    (tmp_path / "empty.csv").write_text("hotel,lead_time\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_status:
        main(["ml", "import", str(tmp_path / "empty.csv")])
    assert exit_status.value.code == 2
    assert "missing columns" in capsys.readouterr().out


def test_the_registry_names_the_models_as_their_modules_do() -> None:
    """The registry spells the names itself (it imports neither model module when serving)."""
    assert MODELS == (cancellation.NAME, demand.NAME)
