"""Arithmetic on scraped Prometheus series: counter increases across restarts, first matching sample."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

from brownout.history import TelemetrySeries


def increase(series: TelemetrySeries, start: float, end: float) -> float | None:
    """How much a counter grew in (start, end]; a drop means the process restarted and counts from zero
    again (Prometheus' rule). None when the series has no sample at or after `start` up to `end`."""
    first = bisect.bisect_right(series.times, start)
    last = bisect.bisect_right(series.times, end)
    if first >= last:
        return None
    previous = series.values[first - 1] if first > 0 else series.values[first]
    grown = 0.0
    for value in series.values[first:last]:
        if math.isnan(value):
            continue
        grown += value - previous if value >= previous else value
        previous = value
    return grown


def first_time(
    series: TelemetrySeries, start: float, end: float, test: Callable[[float], bool]
) -> float | None:
    """Time of the first sample in [start, end] whose value passes `test`."""
    first = bisect.bisect_left(series.times, start)
    last = bisect.bisect_right(series.times, end)
    for i in range(first, last):
        if test(series.values[i]):
            return series.times[i]
    return None


def maximum(series: TelemetrySeries, start: float, end: float) -> float | None:
    first = bisect.bisect_left(series.times, start)
    last = bisect.bisect_right(series.times, end)
    values = [v for v in series.values[first:last] if not math.isnan(v)]
    return max(values) if values else None
