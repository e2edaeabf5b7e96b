"""The trend of a store: per operation (p50, p95, error ratio, rps) and per fault (availability, recovery,
detection, amplification), every run's value in release order, each release's median, and the change
points (brownout.store.changes). The newest release starting a worse regime is what `brownout trend`
exits 1 on."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from brownout.compare.figures import Key
from brownout.compare.metrics import AGGREGATED, FAULT, METRICS, OPERATION, Metric
from brownout.compare.tolerance import Tolerances
from brownout.store.changes import ChangePoint, change_points
from brownout.store.db import Point

TREND_METRICS = {
    OPERATION: ("p50", "p95", "error_ratio", "rps"),
    FAULT: ("availability", "recovery_s", "detection_s", "amplification"),
}


@dataclass(frozen=True)
class TrendRow:
    scope_kind: str
    scope: str
    metric: str
    runs: tuple[tuple[int, float], ...]  # (release index, value), in release order then run order
    medians: tuple[tuple[int, float], ...]  # (release index, median of its runs)
    changes: tuple[ChangePoint, ...]


@dataclass(frozen=True)
class Trend:
    releases: tuple[str, ...]
    rows: tuple[TrendRow, ...]

    def newest_worse(self) -> list[tuple[TrendRow, ChangePoint]]:
        """Rows whose newest release starts a worse level."""
        newest = len(self.releases) - 1
        return [(row, c) for row in self.rows for c in row.changes if c.index == newest and c.worse]


def build_trend(releases: list[str], series: dict[Key, list[Point]], tolerances: Tolerances | None = None) -> Trend:
    tolerances = tolerances or Tolerances()
    order = {label: index for index, label in enumerate(releases)}
    rows = []
    for key in sorted(series, key=_row_order):
        scope_kind, scope, metric = key
        if metric not in TREND_METRICS.get(scope_kind, ()):
            continue
        spec = METRICS[metric]
        needed = _needed_requests(spec, tolerances.stats.min_tail_samples)
        runs = sorted((order[p.release], p.seq, p.value) for p in series[key] if p.requests >= needed)
        if not runs:
            continue
        values, indices = [v for _, _, v in runs], [i for i, _, _ in runs]
        changes = change_points(values, indices, releases, spec, tolerances.allowance(spec, scope_kind, scope))
        medians = tuple(
            (index, float(statistics.median(v for i, v in zip(indices, values, strict=True) if i == index)))
            for index in sorted(set(indices))
        )
        rows.append(
            TrendRow(scope_kind, scope, metric, tuple(zip(indices, values, strict=True)), medians, tuple(changes))
        )
    return Trend(tuple(releases), tuple(rows))


def _needed_requests(metric: Metric, min_tail: int) -> int:
    """compare's thin-tail rule: a run's percentile counts only with `min_tail` requests beyond it (p50 of
    three WebSocket reconnects is one of three numbers, not a level)."""
    if metric.quantile is None or metric.quantile >= 1.0 or min_tail <= 0:
        return 0
    return math.ceil(min_tail / (1.0 - metric.quantile) - 1e-9)


def _row_order(key: Key) -> tuple[int, bool, str, int]:
    scope_kind, scope, metric = key
    metrics = TREND_METRICS.get(scope_kind, ())
    rank = metrics.index(metric) if metric in metrics else len(metrics)
    return (0 if scope_kind == OPERATION else 1, scope == AGGREGATED, scope, rank)
