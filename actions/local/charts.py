"""The weather chart: highs and lows as lines, the chance of rain as bars, one column per day
(matplotlib's Agg backend, PNG bytes). Words come from the caller, rendered in the guest's
language from ``prompts/local/chart_words.j2``; this module only draws."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from actions.local.weather import DayWeather

SIZE = (6.4, 3.2)
DPI = 100
HIGH, LOW, RAIN = "#d1242f", "#1f6feb", "#9ec5fe"


def weather_chart(
    days: Sequence[DayWeather], labels: Sequence[str], words: Mapping[str, str]
) -> bytes:
    """``labels``: each day's name on the axis; ``words``: high, low, rain, temperature."""
    figure = Figure(figsize=SIZE)
    temperatures = figure.subplots()
    rain = temperatures.twinx()
    columns = list(range(len(days)))
    rain.bar(
        columns, [day.rain_chance or 0 for day in days], color=RAIN, alpha=0.6, label=words["rain"]
    )
    rain.set_ylim(0, 100)
    rain.set_ylabel(words["rain"])
    temperatures.set_zorder(rain.get_zorder() + 1)
    temperatures.patch.set_visible(False)
    temperatures.plot(
        columns,
        [_value(day.high) for day in days],
        color=HIGH,
        marker="o",
        lw=2,
        label=words["high"],
    )
    temperatures.plot(
        columns, [_value(day.low) for day in days], color=LOW, marker="o", lw=2, label=words["low"]
    )
    temperatures.set_ylabel(words["temperature"])
    temperatures.set_xticks(columns, list(labels))
    temperatures.legend(loc="upper left", fontsize="small")
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _value(value: float | None) -> float:
    return float("nan") if value is None else value  # a gap in the line
