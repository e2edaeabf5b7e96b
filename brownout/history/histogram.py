"""A mergeable latency histogram with Locust's rounding, encoded as the `hist` cell of timeline.csv.

Rounding and percentiles follow `locust.stats.bucket_response_time` and
`locust.stats.calculate_response_time_percentile` exactly (a test checks this against Locust itself).
They are restated here rather than imported because importing `locust` monkey-patches the whole process
with gevent, which the report and compare commands must not suffer just to read a CSV file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain

_WELL_FORMED = re.compile(r"[ ]*(?:[0-9]+:[0-9]+(?:[ ]+|$))*")


def round_response_time(response_time_ms: float) -> int:
    """Locust's rounding to ~2 significant digits: 1 ms below 100 ms, 10 ms below 1 s, 100 ms below 10 s,
    1 s above. Rounded values are the histogram keys, so histograms from any source merge by adding."""
    if response_time_ms < 100:
        return round(response_time_ms)
    if response_time_ms < 1000:
        return int(round(response_time_ms, -1))
    if response_time_ms < 10000:
        return int(round(response_time_ms, -2))
    return int(round(response_time_ms, -3))


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


class LatencyHistogram:
    """Sparse `rounded ms -> count`. Mutable so a recorder can fill it cheaply; `merge` adds another in."""

    __slots__ = ("counts", "_total")

    def __init__(self, counts: dict[int, int] | None = None) -> None:
        self.counts: dict[int, int] = dict(counts) if counts else {}
        self._total = sum(self.counts.values())

    @classmethod
    def of(cls, response_times_ms: Iterable[float]) -> LatencyHistogram:
        histogram = cls()
        for value in response_times_ms:
            histogram.record(value)
        return histogram

    @classmethod
    def merged(cls, histograms: Iterable[LatencyHistogram]) -> LatencyHistogram:
        """The sum of many histograms (vectorised when there are many: a 1-hour window is ~14k of them)."""
        many = list(histograms)
        if len(many) > 16:
            return merge_groups(many, [0] * len(many), 1)[0]
        total = cls()
        for histogram in many:
            total.merge(histogram)
        return total

    @property
    def count(self) -> int:
        return self._total

    def record(self, response_time_ms: float, times: int = 1) -> None:
        key = round_response_time(response_time_ms)
        self.counts[key] = self.counts.get(key, 0) + times
        self._total += times

    def merge(self, other: LatencyHistogram) -> None:
        counts = self.counts
        for key, value in other.counts.items():
            counts[key] = counts.get(key, 0) + value
        self._total += other._total

    def percentile(self, q: float) -> int | None:
        """The response time within which a share `q` (0..1) of requests finished, as Locust computes it;
        None when empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"percentile must be within 0..1, got {q}")
        if self._total == 0:
            return None
        wanted = int(self._total * q)
        processed = 0
        for key in sorted(self.counts, reverse=True):
            processed += self.counts[key]
            if self._total - processed <= wanted:
                return key
        return 0  # unreachable: the loop always ends on the smallest key

    def encode(self) -> str:
        """The `hist` cell: `ms:count` pairs, ascending, separated by spaces ("" when empty)."""
        return " ".join(f"{key}:{self.counts[key]}" for key in sorted(self.counts) if self.counts[key])

    @classmethod
    def decode(cls, cell: str) -> LatencyHistogram:
        """Parse a `hist` cell; raises ValueError with what is wrong (callers add file and line)."""
        if _WELL_FORMED.fullmatch(cell):
            numbers = list(map(int, cell.replace(":", " ").split()))
            keys, values = numbers[0::2], numbers[1::2]
            if len(set(keys)) == len(keys) and all(values):
                return cls(dict(zip(keys, values, strict=True)))
        counts: dict[int, int] = {}
        for pair in cell.split():
            ms, sep, count = pair.partition(":")
            if not sep or not _is_digits(ms) or not _is_digits(count):
                raise ValueError(f"histogram pair {pair!r} is not 'ms:count' with non-negative integers")
            if int(count):
                key = int(ms)
                counts[key] = counts.get(key, 0) + int(count)
        return cls(counts)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(sorted(self.counts.items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        return {k: v for k, v in self.counts.items() if v} == {k: v for k, v in other.counts.items() if v}

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"LatencyHistogram({self.encode()!r})"


def merge_groups(
    histograms: Sequence[LatencyHistogram], groups: Sequence[int], group_count: int
) -> list[LatencyHistogram]:
    """Sum histograms by group: histograms[i] goes into group groups[i] (0 <= group < group_count).

    Vectorised with numpy (imported here, so recorders that only fill histograms never load it)."""
    import numpy as np

    dicts = [h.counts for h in histograms]
    lengths = np.fromiter(map(len, dicts), dtype=np.int64, count=len(dicts))
    keys = np.fromiter(chain.from_iterable(dicts), dtype=np.int64, count=int(lengths.sum()))
    if not len(keys):
        return [LatencyHistogram() for _ in range(group_count)]
    counts = np.fromiter(chain.from_iterable(d.values() for d in dicts), dtype=np.int64, count=len(keys))
    base = int(keys.max()) + 1
    combined = np.repeat(np.asarray(groups, dtype=np.int64), lengths) * base + keys
    unique, inverse = np.unique(combined, return_inverse=True)
    sums = np.bincount(inverse, weights=counts).astype(np.int64).tolist()  # exact below 2**53
    group_of = unique // base
    key_list = (unique % base).tolist()
    edges = np.searchsorted(group_of, np.arange(group_count + 1)).tolist()
    return [
        LatencyHistogram(dict(zip(key_list[a:b], sums[a:b], strict=True)))
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
