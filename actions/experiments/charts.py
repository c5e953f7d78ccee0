"""The experiment's chart, as PNG bytes: each variant's rate with its 95% credible interval,
and each variant's probability to be best over time.

Words come from the caller (``prompts/experiments/chart_words.j2`` in the reader's language);
this module only draws (matplotlib's Agg backend: no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from actions.experiments.analysis import VariantFigures

CHART_WORDS = ("rate", "p_best", "time")
SIZE = (8.0, 3.4)
DPI = 100


def experiment_chart(
    found: Sequence[VariantFigures],
    history: Sequence[tuple[datetime, Mapping[str, float]]],
    words: Mapping[str, str],
    title: str,
) -> bytes:
    figure = Figure(figsize=SIZE)
    rates, best = figure.subplots(1, 2)
    names = [item.variant for item in found]
    positions = range(len(found))
    centres = [item.rate * 100 for item in found]
    below = [max(0.0, (item.rate - item.low) * 100) for item in found]
    above = [max(0.0, (item.high - item.rate) * 100) for item in found]
    rates.errorbar(positions, centres, yerr=[below, above], fmt="o", capsize=6, color="#1f6feb")
    rates.set_xticks(list(positions), names)
    rates.set_ylabel(words["rate"])
    rates.set_xlim(-0.5, len(found) - 0.5)
    rates.grid(axis="y", alpha=0.3)
    for name in names:
        best.plot(
            [moment for moment, _ in history],
            [shares.get(name, 0.0) * 100 for _, shares in history],
            marker=".",
            label=name,
        )
    best.set_ylim(0, 100)
    best.set_ylabel(words["p_best"])
    best.set_xlabel(words["time"])
    best.legend(loc="best", fontsize="small")
    best.tick_params(axis="x", labelrotation=30, labelsize="small")
    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
