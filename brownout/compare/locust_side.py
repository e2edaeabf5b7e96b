"""Figures of one side from plain Locust runs: pooled over runs, with a bootstrap over runs when there
are several, and over history intervals (rps and error ratio only) when a single run has a history."""

from __future__ import annotations

import numpy as np

from brownout.compare.bootstrap import FloatArray, generator, ratio, resampling_weights
from brownout.compare.figures import Figure, Key
from brownout.compare.locust_csv import HistoryPoint, LocustOperation, LocustRun
from brownout.compare.metrics import OPERATION
from brownout.compare.tolerance import StatsSettings

_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_MIN_INTERVALS = 3


def locust_figures(runs: list[LocustRun], role: str, settings: StatsSettings) -> dict[Key, Figure]:
    figures: dict[Key, Figure] = {}
    for operation in sorted({key for run in runs for key in run.operations}):
        per_run = [run.operations.get(operation) for run in runs]
        figures.update(_operation_figures(operation, per_run, role, settings))
        if len(runs) == 1 and not _add_history_intervals(figures, runs[0], operation, role, settings):
            _add_count_noise(figures, operation, per_run[0], role, settings)
    return figures


def _operation_figures(
    operation: str, per_run: list[LocustOperation | None], role: str, settings: StatsSettings
) -> dict[Key, Figure]:
    requests = np.array([op.requests if op else 0 for op in per_run], dtype=np.float64)
    total = int(requests.sum())
    draws: FloatArray | None = None
    if len(per_run) >= 2:
        draws = resampling_weights(generator(settings.seed, role, operation, "runs"), len(per_run), settings.replicates)
    basis = f"{len(per_run)} runs"

    def figure(values: FloatArray, how: str) -> Figure:
        point = _pool(values, requests, np.ones((1, len(values))), how)[0]
        replicates = None if draws is None else _pool(values, requests, draws, how)
        return Figure(None if np.isnan(point) else float(point), replicates, basis if draws is not None else "", total)

    def column(pick: object) -> FloatArray:
        return np.array([pick(op) if op else np.nan for op in per_run], dtype=np.float64)  # type: ignore[operator]

    figures: dict[Key, Figure] = {}
    if any(op is not None and op.rps is not None for op in per_run):
        # An operation a run never called ran at 0 req/s in that run, not at an unknown rate.
        rps = np.array([(op.rps or 0.0) if op else 0.0 for op in per_run], dtype=np.float64)
        figures[(OPERATION, operation, "rps")] = figure(rps, "mean")
    else:
        figures[(OPERATION, operation, "rps")] = Figure(None, requests=total)
    error_ratios = column(lambda op: op.failures / op.requests if op.requests else np.nan)
    figures[(OPERATION, operation, "error_ratio")] = figure(error_ratios, "weighted")
    for metric, quantile in _QUANTILES.items():
        figures[(OPERATION, operation, metric)] = figure(
            column(lambda op, q=quantile: op.percentiles.get(q, np.nan)), "weighted"
        )
    figures[(OPERATION, operation, "max")] = figure(
        column(lambda op: np.nan if op.max_ms is None else op.max_ms), "max"
    )
    return figures


def _pool(values: FloatArray, requests: FloatArray, draws: FloatArray, how: str) -> FloatArray:
    """Pool per-run values for each row of `draws` (how often each run was drawn; a row of ones for the
    point estimate).

    - "weighted": request-weighted mean. For error ratios this is exactly failures / requests over the
      runs; for percentiles it approximates the pooled percentile (Locust's CSV has no histogram to merge).
    - "mean": mean over drawn runs (rps: each run is its own period of time).
    - "max": the largest value over drawn runs.
    """
    present = np.isfinite(values)
    filled = np.where(present, values, 0.0)
    if how == "max":
        masked = np.where((draws > 0) & present, filled, -np.inf).max(axis=1)
        return np.where(np.isfinite(masked), masked, np.nan)
    weights = draws * present * (requests if how == "weighted" else 1.0)
    return ratio(weights @ filled, weights.sum(axis=1))


def _add_count_noise(
    figures: dict[Key, Figure], operation: str, op: LocustOperation | None, role: str, settings: StatsSettings
) -> None:
    """Without history or repeated runs, a request count is still a count: replicate it as Poisson (rps)
    and binomial (error ratio) draws, so that e.g. 59 vs 70 calls of a rarely picked task do not read as
    an 18 % throughput change. Percentiles get no such model: they stay tolerance-only."""
    if op is None or op.requests == 0:
        return
    rng = generator(settings.seed, role, operation, "counts")
    basis, model = f"{op.requests} requests", "Poisson/binomial draws"
    rps = figures[(OPERATION, operation, "rps")]
    if rps.value is not None and rps.value > 0:
        draws = rng.poisson(op.requests, settings.replicates).astype(np.float64)
        figures[(OPERATION, operation, "rps")] = Figure(
            rps.value, draws * (rps.value / op.requests), basis, rps.requests, model
        )
    errors = figures[(OPERATION, operation, "error_ratio")]
    if errors.value is not None:
        draws = rng.binomial(op.requests, errors.value, settings.replicates).astype(np.float64)
        figures[(OPERATION, operation, "error_ratio")] = Figure(
            errors.value, draws / op.requests, basis, errors.requests, model
        )


def _add_history_intervals(
    figures: dict[Key, Figure], run: LocustRun, operation: str, role: str, settings: StatsSettings
) -> bool:
    """rps and error ratio from the history's per-interval increments of the cumulative counts."""
    increments = _increments(run.history.get(operation, ()))
    if increments is None:
        return False
    seconds, requests, failures = increments
    weights = resampling_weights(
        generator(settings.seed, role, operation, "history"), len(seconds), settings.replicates
    )
    basis = f"{len(seconds)} history intervals"
    for metric, replicates in (
        ("rps", ratio(weights @ requests, weights @ seconds)),
        ("error_ratio", ratio(weights @ failures, weights @ requests)),
    ):
        point = figures[(OPERATION, operation, metric)]
        if point.value is not None:
            figures[(OPERATION, operation, metric)] = Figure(point.value, replicates, basis, point.requests)
    return True


def _increments(points: tuple[HistoryPoint, ...]) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    active = sorted(points, key=lambda p: p.timestamp)
    # Rows before the first request are time before the test started, not a slow service.
    while len(active) >= 2 and active[1].total_requests == 0:
        active.pop(0)
    if len(active) < _MIN_INTERVALS + 1:
        return None
    times = np.array([p.timestamp for p in active], dtype=np.float64)
    seconds = np.diff(times)
    requests = np.diff(np.array([p.total_requests for p in active], dtype=np.float64))
    failures = np.diff(np.array([p.total_failures for p in active], dtype=np.float64))
    if (requests < 0).any() or (failures < 0).any() or seconds.sum() <= 0:
        return None  # counters were reset mid-run: the increments mean nothing
    return seconds, requests, failures
