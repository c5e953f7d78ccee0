"""The promoted forecast models' age for ``/metrics``, read from the registry at each scrape.

A model that stops being retrained keeps answering with its old view of demand; the
``ml`` alerts watch this age. It is read from the files rather than kept in memory, so that
a version trained or promoted by another process (``rsv360 ml train``, a worker) shows at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from actions.forecasts.registry import MODELS, Registry, RegistryError


class PromotedModelAge(Collector):
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        trained = GaugeMetricFamily(
            "rsv_forecast_model_trained_timestamp_seconds",
            "When the promoted version of each forecast model was trained (Unix time)",
            labels=["model"],
        )
        for name in MODELS:
            stamp = self._trained_at(name)
            if stamp is not None:
                trained.add_metric([name], stamp)
        yield trained

    def _trained_at(self, name: str) -> float | None:
        version = self._registry.promoted(name)
        if version is None:
            return None
        try:
            stamp = str(self._registry.metadata(version)["trained_at"])
        except (RegistryError, KeyError):
            return None  # a version whose files were removed by hand: no age to tell
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
