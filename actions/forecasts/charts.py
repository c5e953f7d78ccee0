"""Charts of the answers, as PNG bytes (matplotlib's Agg backend: no display needed).

Words on a chart come from the caller (rendered from ``prompts/forecasts/chart_words.j2`` in the
staff member's language); this module only draws.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

SIZE = (7.0, 3.4)
DPI = 100
LINE, BAND, LAST_YEAR, BOOKED = "#1f6feb", "#9ec5fe", "#8b949e", "#2da44e"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _dates(axes: Axes) -> None:
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m"))  # type: ignore[no-untyped-call]


def demand_chart(table: pd.DataFrame, words: Mapping[str, str], title: str) -> bytes:
    """Occupancy (%) per day: forecast line, 80% band, on the books, last year's actuals."""
    figure = Figure(figsize=SIZE)
    axes = figure.subplots()
    days = table["date"]
    capacity = table["nights_capacity"].iloc[0]
    share = 100 / capacity
    axes.fill_between(
        days,
        table["nights_low"] * share,
        table["nights_high"] * share,
        color=BAND,
        alpha=0.6,
        label=words["interval"],
    )
    axes.plot(days, table["nights_median"] * share, color=LINE, lw=2, label=words["forecast"])
    axes.plot(
        days, table["nights_on_books"] * share, color=BOOKED, lw=1, ls="--", label=words["on_books"]
    )
    last_year = table["nights_last_year"].where(table["nights_last_year"] >= 0)
    if last_year.notna().any():
        axes.plot(
            days,
            last_year * share,
            color=LAST_YEAR,
            lw=1,
            marker=".",
            ls="none",
            label=words["last_year"],
        )
    axes.set_ylabel(words["occupancy"])
    axes.set_ylim(0, 110)
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, loc="upper left", ncols=2)
    axes.grid(alpha=0.3)
    _dates(axes)
    return _png(figure)


def risk_chart(
    labels: Sequence[str], probabilities: Sequence[float], words: Mapping[str, str], title: str
) -> bytes:
    """Horizontal bars: the bookings likeliest to cancel, riskiest on top."""
    figure = Figure(figsize=(SIZE[0], 0.45 * max(len(labels), 3) + 1.2))
    axes = figure.subplots()
    values = [100 * p for p in probabilities]
    colours = ["#cf222e" if v >= 50 else "#bf8700" if v >= 25 else "#2da44e" for v in values]
    axes.barh(list(labels)[::-1], values[::-1], color=colours[::-1])
    for position, value in enumerate(values[::-1]):
        axes.text(value + 1, position, f"{value:.0f}%", va="center", fontsize=8)
    axes.set_xlim(0, 105)
    axes.set_xlabel(words["probability"])
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)


def price_chart(tables: Mapping[str, pd.DataFrame], words: Mapping[str, str], title: str) -> bytes:
    """Suggested and usual nightly rate per room type, with the season's floor and ceiling."""
    figure = Figure(figsize=SIZE)
    axes = figure.subplots()
    for index, (room, table) in enumerate(tables.items()):
        colour = f"C{index}"
        axes.plot(
            table["date"],
            table["suggested"],
            color=colour,
            lw=2,
            label=f"{room} · {words['suggested']}",
        )
        axes.plot(table["date"], table["usual_rate"], color=colour, lw=1, ls=":")
        axes.fill_between(table["date"], table["floor"], table["ceiling"], color=colour, alpha=0.07)
    axes.plot([], [], color="black", lw=1, ls=":", label=words["usual"])
    axes.set_ylabel(words["rate"])
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, loc="upper left")
    axes.grid(alpha=0.3)
    _dates(axes)
    return _png(figure)
