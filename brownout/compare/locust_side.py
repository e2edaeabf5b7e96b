"""Figures of one side from plain Locust runs: pooled over runs, with a bootstrap over runs when there
are several, and over history intervals (rps and error ratio only) when a single run has a history."""

from __future__ import annotations

import numpy as np

from brownout.compare.bootstrap import FloatArray, generator, ratio, resampling_weights
from brownout.compare.figures import Figure, Key
from brownout.compare.locust_csv import HistoryPoint, LocustRun
from brownout.compare.metrics import OPERATION
from brownout.compare.tolerance import StatsSettings

_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_MIN_INTERVALS = 3


def locust_figures(runs: list[LocustRun], role: str, settings: StatsSettings) -> dict[Key, Figure]:
    figures: dict[Key, Figure] = {}
    operations = sorted({key for run in runs for key in run.operations})
    for operation in operations:
        per_run = [run.operations.get(operation) for run in runs]
        requests = np.array([op.requests if op else 0 for op in per_run], dtype=np.float64)
        failures = np.array([op.failures if op else 0 for op in per_run], dtype=np.float64)
        rps = np.array([(op.rps or 0.0) if op else 0.0 for op in per_run], dtype=np.float64)
        total = int(requests.sum())
        weights = None
        if len(runs) >= 2:
            rng = generator(settings.seed, role, operation, "runs")
            weights = resampling_weights(rng, len(runs), settings.replicates)
        basis = f"{len(runs)} runs"

        def figure(
            values: FloatArray,
            pool: str,
            counts: FloatArray = requests,
            basis: str = basis,
            weights: FloatArray | None = weights,
            total: int = total,
        ) -> Figure:
            value = _pool(values[None, :], counts[None, :], pool)[0]
            replicates = None if weights is None else _pool(values[None, :] * 0 + values, counts * weights, pool)
            return Figure(None if np.isnan(value) else float(value), replicates, basis if weights is not None else "", total)

        have_rps = any(op is not None and op.rps is not None for op in per_run)
        figures[(OPERATION, operation, "rps")] = figure(rps, "mean_runs") if have_rps else Figure(None)
        figures[(OPERATION, operation, "error_ratio")] = figure(failures / np.maximum(requests, 1), "ratio")
        if weights is not None:
            figures[(OPERATION, operation, "error_ratio")] = Figure(
                _nan_to_none(ratio(failures.sum(keepdims=True), requests.sum(keepdims=True))[0]),
                ratio(weights @ failures, weights @ requests),
                basis,
                total,
            )
        for metric, quantile in _QUANTILES.items():
            values = np.array([_get(op, quantile) for op in per_run], dtype=np.float64)
            figures[(OPERATION, operation, metric)] = figure(values, "weighted")
        maxima = np.array([op.max_ms if op and op.max_ms is not None else np.nan for op in per_run])
        figures[(OPERATION, operation, "max")] = figure(maxima, "max")
        if len(runs) == 1:
            _add_history_intervals(figures, runs[0], operation, role, settings)
    return figures


def _get(op: object, quantile: float) -> float:
    percentiles = getattr(op, "percentiles", None)
    if not percentiles or quantile not in percentiles:
        return np.nan
    return float(percentiles[quantile])


def _nan_to_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _pool(values: FloatArray, counts: FloatArray, how: str) -> FloatArray:
    """Pool per-run values (broadcast against per-replicate run counts, rows = replicates).

    - "weighted": request-weighted mean of the runs' percentiles (Locust's CSV has no histogram to
      merge, so this is the best available approximation of the pooled percentile);
    - "mean_runs": mean over drawn runs (rps: each run is its own period of time);
    - "ratio": failures / requests summed over runs (values are per-run ratios);
    - "max": the largest over drawn runs.
    """
    present = np.isfinite(values)
    values = np.where(present, values, 0.0)
    counts = np.broadcast_to(counts, np.broadcast_shapes(values.shape, counts.shape))
    if how == "weighted":
        weights = np.where(present, counts, 0.0)
        return ratio((weights * values).sum(axis=1), weights.sum(axis=1))
    if how == "ratio":
        return ratio((counts * values).sum(axis=1), counts.sum(axis=1))
    drawn = counts > 0 if how == "max" else None
    if how == "max":
        assert drawn is not None
        masked = np.where(drawn & present, values, -np.inf)
        result = masked.max(axis=1)
        return np.where(np.isfinite(result), result, np.nan)
    # mean over drawn runs, each weighted by how often it was drawn (counts carry the draw weights)
    draws = np.broadcast_to(counts > -1, counts.shape).astype(np.float64)
    return ratio((draws * values).sum(axis=1), draws.sum(axis=1))


def _add_history_intervals(
    figures: dict[Key, Figure], run: LocustRun, operation: str, role: str, settings: StatsSettings
) -> None:
    """rps and error ratio from the history's per-interval increments of the cumulative counts."""
    points = run.history.get(operation, ())
    increments = _increments(points)
    if increments is None:
        return
    seconds, requests, failures = increments
    rng = generator(settings.seed, role, operation, "history")
    weights = resampling_weights(rng, len(seconds), settings.replicates)
    basis = f"{len(seconds)} history intervals"
    rps = figures[(OPERATION, operation, "rps")]
    errors = figures[(OPERATION, operation, "error_ratio")]
    figures[(OPERATION, operation, "rps")] = Figure(
        rps.value, ratio(weights @ requests, weights @ seconds), basis, rps.requests
    )
    figures[(OPERATION, operation, "error_ratio")] = Figure(
        errors.value, ratio(weights @ failures, weights @ requests), basis, errors.requests
    )


def _increments(points: tuple[HistoryPoint, ...]) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    active = [p for p in sorted(points, key=lambda p: p.timestamp)]
    # Skip the rows before the first request: they are time before the test, not a slow service.
    while len(active) >= 2 and active[1].total_requests == 0:
        active.pop(0)
    if len(active) < _MIN_INTERVALS + 1:
        return None
    times = np.array([p.timestamp for p in active], dtype=np.float64)
    totals = np.array([p.total_requests for p in active], dtype=np.float64)
    fails = np.array([p.total_failures for p in active], dtype=np.float64)
    seconds, requests, failures = np.diff(times), np.diff(totals), np.diff(fails)
    if (requests < 0).any() or seconds.sum() <= 0:
        return None  # counters reset mid-run (e.g. a stats reset): the increments mean nothing
    return seconds, requests, failures
