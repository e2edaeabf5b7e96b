"""The in-memory index of timeline.csv that checks query by time window (telemetry's is in telemetry.py).

A 1-hour run at 1,000 req/s is ~72k timeline rows; they are kept column-wise per operation (sorted bucket
starts and counts as lists, histograms in one numpy `HistogramTable`) instead of as row objects, windows
are found by bisection and merged with one `bincount`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from brownout.history.histogram import LatencyHistogram
from brownout.history.records import TimelineRow
from brownout.history.telemetry import Telemetry, TelemetrySeries

__all__ = ["ALL_OPERATIONS", "OperationSeries", "Telemetry", "TelemetrySeries", "Timeline", "WindowStats"]

if TYPE_CHECKING:  # numpy loads only when an index is built: the Locust recorder imports this package
    import numpy as np
    import numpy.typing as npt

    from brownout.history.columns import HistogramTable

ALL_OPERATIONS = "(all)"


@dataclass(frozen=True)
class TimelineColumns:
    """timeline.csv as columns, rows in file order (what `Timeline.from_columns` indexes)."""

    t: Sequence[float] | npt.NDArray[np.float64]
    bucket_keys: Sequence[int] | npt.NDArray[np.int64]  # ordered like round(t * 1000), equal within a bucket
    operations: dict[str, int]  # operation name -> its index, in order of first appearance
    operation_index: Sequence[int] | npt.NDArray[np.int64]
    ok: Sequence[int] | npt.NDArray[np.int64]
    degraded: Sequence[int] | npt.NDArray[np.int64]
    failed: Sequence[int] | npt.NDArray[np.int64]
    hists: HistogramTable


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
    """One operation's buckets, sorted by start time, column-wise; built once, then only read.

    Counts are lists (cheap to slice and sum); the histograms live in one `HistogramTable`. `hists` gives
    them as LatencyHistogram objects, built on first use, for callers that want dicts."""

    __slots__ = ("bucket_s", "times", "ok", "degraded", "failed", "table", "_totals", "_hists", "_percentiles")

    def __init__(
        self,
        bucket_s: float,
        times: list[float] | None = None,
        ok: list[int] | None = None,
        degraded: list[int] | None = None,
        failed: list[int] | None = None,
        table: HistogramTable | None = None,
    ) -> None:
        self.bucket_s = bucket_s
        self.times: list[float] = times if times is not None else []
        self.ok: list[int] = ok if ok is not None else []
        self.degraded: list[int] = degraded if degraded is not None else []
        self.failed: list[int] = failed if failed is not None else []
        if table is None:
            from brownout.history.columns import HistogramTable

            table = HistogramTable.empty(len(self.times))
        self.table = table
        self._totals: list[int] | None = None
        self._hists: list[LatencyHistogram] | None = None
        self._percentiles: dict[float, list[int | None]] = {}

    def __len__(self) -> int:
        return len(self.times)

    @property
    def hists(self) -> list[LatencyHistogram]:
        if self._hists is None:
            self._hists = self.table.histograms()
        return self._hists

    @hists.setter
    def hists(self, histograms: list[LatencyHistogram]) -> None:
        from brownout.history.columns import HistogramTable

        self.table = HistogramTable.from_histograms(histograms)
        self._hists, self._percentiles = None, {}

    @property
    def totals(self) -> list[int]:
        """ok + degraded + failed per bucket."""
        if self._totals is None:
            self._totals = [a + b + c for a, b, c in zip(self.ok, self.degraded, self.failed, strict=True)]
        return self._totals

    def index_range(self, start: float, end: float) -> range:
        """Indexes of the buckets whose midpoint lies in [start, end): a bucket belongs to one side of a fault
        edge, the side where most of its time was spent."""
        half = self.bucket_s / 2
        first = bisect.bisect_left(self.times, start - half)
        last = bisect.bisect_left(self.times, end - half)
        return range(first, last)

    def total_at(self, index: int) -> int:
        return self.ok[index] + self.degraded[index] + self.failed[index]

    def histogram(self, index: int) -> LatencyHistogram:
        return self.table.row(index)

    def percentiles(self, q: float) -> list[int | None]:
        """Every bucket's percentile q (None for an empty bucket), computed once per q."""
        found = self._percentiles.get(q)
        if found is None:
            found = self._percentiles[q] = self.table.percentiles(q)
        return found

    def window(self, start: float, end: float) -> WindowStats:
        return self.stats_of_ranges([self.index_range(start, end)])

    def histogram_of(self, indexes: range) -> LatencyHistogram:
        return self.table.merged([indexes])

    def stats(self, indexes: Iterable[int]) -> WindowStats:
        if isinstance(indexes, range) and indexes.step == 1:
            return self.stats_of_ranges([indexes])
        chosen = list(indexes)
        ok = sum(self.ok[i] for i in chosen)
        degraded = sum(self.degraded[i] for i in chosen)
        failed = sum(self.failed[i] for i in chosen)
        buckets = sum(1 for i in chosen if self.total_at(i))
        return WindowStats(ok, degraded, failed, self.table.merged_rows(chosen), buckets)

    def stats_of_ranges(self, ranges: Iterable[range]) -> WindowStats:
        """Requests in these (step 1) index ranges; a bucket in two ranges counts twice."""
        spans = [(r.start, r.stop) for r in ranges if len(r)]
        totals = self.totals
        return WindowStats(
            ok=sum(sum(self.ok[a:b]) for a, b in spans),
            degraded=sum(sum(self.degraded[a:b]) for a, b in spans),
            failed=sum(sum(self.failed[a:b]) for a, b in spans),
            hist=self.table.merged(range(a, b) for a, b in spans),
            buckets=sum(b - a - totals[a:b].count(0) for a, b in spans),
        )


class Timeline:
    """timeline.csv indexed by operation ("TYPE name") and time."""

    def __init__(self, bucket_s: float, series: dict[str, OperationSeries]) -> None:
        self.bucket_s = bucket_s
        self.series = series
        self._all: OperationSeries | None = None
        self._without: dict[frozenset[str], Timeline] = {}

    @classmethod
    def from_rows(cls, rows: Iterable[TimelineRow], bucket_s: float) -> Timeline:
        # Rows of the same operation and bucket (e.g. flushed twice) merge; rows may come in any order.
        from brownout.history.columns import HistogramTable

        listed = list(rows)
        operations: dict[str, int] = {}
        keys = [round(row.t * 1000) for row in listed]
        rank = {key: index for index, key in enumerate(sorted(set(keys)))}  # any t, however far out
        columns = TimelineColumns(
            t=[row.t for row in listed],
            bucket_keys=[rank[key] for key in keys],
            operations=operations,
            operation_index=[operations.setdefault(row.operation, len(operations)) for row in listed],
            ok=[row.ok for row in listed],
            degraded=[row.degraded for row in listed],
            failed=[row.failed for row in listed],
            hists=HistogramTable.from_histograms([row.hist for row in listed]),
        )
        return cls.from_columns(columns, bucket_s)

    @classmethod
    def from_columns(cls, columns: TimelineColumns, bucket_s: float) -> Timeline:
        """The index of a table of rows in file order (see `from_rows` for how rows merge)."""
        import numpy as np

        count = len(columns.t)
        if not count:
            return cls(bucket_s, {})
        operation_index = np.asarray(columns.operation_index, dtype=np.int64)
        bucket_keys = np.asarray(columns.bucket_keys, dtype=np.int64)
        order = np.lexsort((bucket_keys, operation_index))  # stable: the first of equal rows stays first
        sorted_ops, sorted_keys = operation_index[order], bucket_keys[order]
        starts_new = np.concatenate(
            ([True], (sorted_ops[1:] != sorted_ops[:-1]) | (sorted_keys[1:] != sorted_keys[:-1]))
        )
        starts = np.flatnonzero(starts_new)
        table = columns.hists.take(order)
        if len(starts) < count:
            table = table.grouped(np.cumsum(starts_new) - 1, len(starts))
        times = np.asarray(columns.t, dtype=np.float64)[order][starts].tolist()
        sums = [
            np.add.reduceat(np.asarray(values, dtype=np.int64)[order], starts).tolist()
            for values in (columns.ok, columns.degraded, columns.failed)
        ]
        edges = np.searchsorted(sorted_ops[starts], np.arange(len(columns.operations) + 1)).tolist()
        series = {}
        for operation, index in columns.operations.items():
            a, b = edges[index], edges[index + 1]
            series[operation] = OperationSeries(
                bucket_s, times[a:b], sums[0][a:b], sums[1][a:b], sums[2][a:b], table.slice(a, b)
            )
        return cls(bucket_s, series)

    @property
    def operations(self) -> list[str]:
        return sorted(self.series)

    def without(self, operations: Iterable[str]) -> Timeline:
        """The same timeline with some operations left out (itself when none of them is in it)."""
        left_out = frozenset(operations) & frozenset(self.series)
        if not left_out:
            return self
        # Kept, so that every check asking for the same view shares its merged all-operations series.
        if left_out not in self._without:
            self._without[left_out] = Timeline(
                self.bucket_s, {op: s for op, s in self.series.items() if op not in left_out}
            )
        return self._without[left_out]

    def all_operations(self) -> OperationSeries:
        """Every operation merged per bucket (computed once, vectorised)."""
        if self._all is None:
            import numpy as np

            from brownout.history.columns import stack

            per_series = [[round(t * 1000) for t in s.times] for s in self.series.values()]
            keys = sorted({key for keys in per_series for key in keys})
            slot = {key: index for index, key in enumerate(keys)}
            groups = [
                np.fromiter(map(slot.__getitem__, ks), dtype=np.int64, count=len(ks)) for ks in per_series
            ]
            series = list(self.series.values())
            merged = OperationSeries(self.bucket_s, [key / 1000 for key in keys])
            for name in ("ok", "degraded", "failed"):
                sums = np.zeros(len(keys), dtype=np.int64)
                for one, group in zip(series, groups, strict=True):
                    np.add.at(sums, group, np.asarray(getattr(one, name), dtype=np.int64))
                setattr(merged, name, sums.tolist())
            if series:
                merged.table = stack([s.table for s in series], groups, len(keys))
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
