"""Compact in-memory indexes of timeline.csv and telemetry.csv that checks query by time window.

A 1-hour run at 1,000 req/s is ~72k timeline rows; they are kept column-wise per operation (sorted bucket
starts, counts, sparse histograms) instead of as row objects, and windows are found by bisection.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from brownout.history.histogram import LatencyHistogram, merge_groups
from brownout.history.records import TelemetryRow, TimelineRow, encode_labels

ALL_OPERATIONS = "(all)"


@dataclass(frozen=True)
class WindowStats:
    """Requests of one operation (or all) whose bucket lies in a time window."""

    ok: int = 0
    degraded: int = 0
    failed: int = 0
    hist: LatencyHistogram = field(default_factory=LatencyHistogram)
    buckets: int = 0  # buckets with at least one request

    @property
    def total(self) -> int:
        return self.ok + self.degraded + self.failed

    def _share(self, part: int) -> float | None:
        return part / self.total if self.total else None

    @property
    def availability(self) -> float | None:
        """(ok + degraded) / all; None without traffic: no requests is no evidence either way."""
        return self._share(self.ok + self.degraded)

    @property
    def ok_ratio(self) -> float | None:
        return self._share(self.ok)

    @property
    def degraded_share(self) -> float | None:
        return self._share(self.degraded)

    @property
    def error_ratio(self) -> float | None:
        return self._share(self.failed)

    def percentile(self, q: float) -> int | None:
        return self.hist.percentile(q)


class OperationSeries:
    """One operation's buckets, sorted by start time, column-wise."""

    __slots__ = ("bucket_s", "times", "ok", "degraded", "failed", "hists")

    def __init__(self, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.times: list[float] = []
        self.ok: list[int] = []
        self.degraded: list[int] = []
        self.failed: list[int] = []
        self.hists: list[LatencyHistogram] = []

    def __len__(self) -> int:
        return len(self.times)

    def index_range(self, start: float, end: float) -> range:
        """Indexes of the buckets whose midpoint lies in [start, end): a bucket belongs to one side of a fault
        edge, the side where most of its time was spent."""
        half = self.bucket_s / 2
        first = bisect.bisect_left(self.times, start - half)
        last = bisect.bisect_left(self.times, end - half)
        return range(first, last)

    def total_at(self, index: int) -> int:
        return self.ok[index] + self.degraded[index] + self.failed[index]

    def window(self, start: float, end: float) -> WindowStats:
        return self.stats(self.index_range(start, end))

    def stats(self, indexes: Iterable[int]) -> WindowStats:
        chosen = list(indexes)
        ok = sum(self.ok[i] for i in chosen)
        degraded = sum(self.degraded[i] for i in chosen)
        failed = sum(self.failed[i] for i in chosen)
        buckets = sum(1 for i in chosen if self.total_at(i))
        hist = LatencyHistogram.merged(self.hists[i] for i in chosen)
        return WindowStats(ok, degraded, failed, hist, buckets)


class Timeline:
    """timeline.csv indexed by operation ("TYPE name") and time."""

    def __init__(self, bucket_s: float, series: dict[str, OperationSeries]) -> None:
        self.bucket_s = bucket_s
        self.series = series
        self._all: OperationSeries | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[TimelineRow], bucket_s: float) -> Timeline:
        # Rows of the same operation and bucket (e.g. flushed twice) merge; rows may come in any order.
        buckets: dict[str, dict[int, TimelineRow]] = {}
        for row in rows:
            slot = buckets.setdefault(row.operation, {})
            key = round(row.t * 1000)
            found = slot.get(key)
            if found is None:
                slot[key] = row
            else:
                hist = LatencyHistogram(found.hist.counts)
                hist.merge(row.hist)
                slot[key] = TimelineRow(
                    found.t, found.type, found.name, found.ok + row.ok, found.degraded + row.degraded,
                    found.failed + row.failed, hist,
                )  # fmt: skip
        series = {}
        for operation, slot in buckets.items():
            one = OperationSeries(bucket_s)
            for key in sorted(slot):
                row = slot[key]
                one.times.append(row.t)
                one.ok.append(row.ok)
                one.degraded.append(row.degraded)
                one.failed.append(row.failed)
                one.hists.append(row.hist)
            series[operation] = one
        return cls(bucket_s, series)

    @property
    def operations(self) -> list[str]:
        return sorted(self.series)

    def all_operations(self) -> OperationSeries:
        """Every operation merged per bucket (computed once, vectorised)."""
        if self._all is None:
            keys = sorted({round(t * 1000) for s in self.series.values() for t in s.times})
            slot = {key: index for index, key in enumerate(keys)}
            merged = OperationSeries(self.bucket_s)
            merged.times = [key / 1000 for key in keys]
            merged.ok, merged.degraded, merged.failed = [0] * len(keys), [0] * len(keys), [0] * len(keys)
            groups: list[int] = []
            hists: list[LatencyHistogram] = []
            for series in self.series.values():
                for i, t in enumerate(series.times):
                    index = slot[round(t * 1000)]
                    merged.ok[index] += series.ok[i]
                    merged.degraded[index] += series.degraded[i]
                    merged.failed[index] += series.failed[i]
                    groups.append(index)
                hists.extend(series.hists)
            merged.hists = merge_groups(hists, groups, len(keys))
            self._all = merged
        return self._all

    def operation(self, name: str) -> OperationSeries:
        return self.all_operations() if name == ALL_OPERATIONS else self.series[name]

    def window(self, start: float, end: float, operation: str = ALL_OPERATIONS) -> WindowStats:
        return self.operation(operation).window(start, end)

    @property
    def span(self) -> tuple[float, float] | None:
        """(first bucket start, last bucket end) or None for an empty timeline."""
        if not self.series:
            return None
        first = min(s.times[0] for s in self.series.values() if len(s))
        last = max(s.times[-1] for s in self.series.values() if len(s))
        return first, last + self.bucket_s


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
        grouped: dict[tuple[str, str, str], TelemetrySeries] = {}
        for row in rows:
            key = (row.source, row.metric, encode_labels(row.labels))
            found = grouped.get(key)
            if found is None:
                found = grouped[key] = TelemetrySeries(row.source, row.metric, dict(row.labels), [], [])
            found.times.append(row.t)
            found.values.append(row.value)
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
