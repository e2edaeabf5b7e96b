"""telemetry.csv indexed as one time series per (source, metric, labels), for the checks."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from brownout.history.records import TelemetryRow, encode_labels

# (t, source, metric, encoded labels, labels, value)
Sample = tuple[float, str, str, str, dict[str, str], float]


@dataclass(frozen=True)
class TelemetrySeries:
    source: str
    metric: str
    labels: dict[str, str]
    times: list[float]
    values: list[float]

    def value_at(self, t: float) -> float | None:
        """The last sample at or before t (None before the first sample)."""
        index = bisect.bisect_right(self.times, t) - 1
        return self.values[index] if index >= 0 else None


class Telemetry:
    """telemetry.csv grouped into one time series per (source, metric, labels)."""

    def __init__(self, series: list[TelemetrySeries]) -> None:
        self.series = series

    @classmethod
    def from_rows(cls, rows: Iterable[TelemetryRow]) -> Telemetry:
        return cls.from_samples(
            (row.t, row.source, row.metric, encode_labels(row.labels), row.labels, row.value) for row in rows
        )

    @classmethod
    def from_samples(cls, samples: Iterable[Sample]) -> Telemetry:
        """From (t, source, metric, encoded labels, labels, value): samples with equal (source, metric,
        encoded labels) form one series, which keeps the labels of its first sample."""
        grouped: dict[tuple[str, str, str], TelemetrySeries] = {}
        for t, source, metric, encoded, labels, value in samples:
            key = (source, metric, encoded)
            found = grouped.get(key)
            if found is None:
                found = grouped[key] = TelemetrySeries(source, metric, dict(labels), [], [])
            found.times.append(t)
            found.values.append(value)
        for one in grouped.values():
            if any(b < a for a, b in zip(one.times, one.times[1:], strict=False)):
                pairs = sorted(zip(one.times, one.values, strict=True))
                one.times[:] = [t for t, _ in pairs]
                one.values[:] = [v for _, v in pairs]
        return cls(list(grouped.values()))

    def select(self, metric: str, **labels: str) -> list[TelemetrySeries]:
        return [
            s for s in self.series
            if s.metric == metric and all(s.labels.get(key) == value for key, value in labels.items())
        ]  # fmt: skip

    @property
    def metrics(self) -> set[str]:
        return {s.metric for s in self.series}
