"""Figures of one side from brownout results directories, read with brownout.history and brownout.checks.

Per operation the timeline's per-bucket histograms are cut into consecutive time blocks (>= 1 s, about
400 per side) and resampled (a block bootstrap: neighbouring buckets are correlated, blocks much less),
giving intervals for rps, error ratio, p50/p95/p99 and max. Per fault, the checks' figures of each window
(each repetition of the fault, in each run of the side), resampled over those windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from brownout.checks import Criteria
from brownout.checks.availability import check_availability
from brownout.checks.detection import check_detection
from brownout.checks.recovery import check_recovery
from brownout.checks.resilience import check_resilience
from brownout.checks.windows import fault_windows, run_span
from brownout.compare.bootstrap import (
    FloatArray,
    generator,
    histogram_max,
    histogram_quantiles,
    ratio,
    resampling_weights,
)
from brownout.compare.fault_values import FAULT_METRICS as _FAULT_METRICS
from brownout.compare.fault_values import window_values
from brownout.compare.figures import Figure, Key, Side
from brownout.compare.metrics import AGGREGATED, FAULT, INTEGRITY, OPERATION, violation_metric
from brownout.compare.sources import BROWNOUT, SideSources
from brownout.compare.tolerance import StatsSettings
from brownout.faults.kinds import base_fault_name
from brownout.history import History, Integrity, LatencyHistogram, OperationSeries, load_history, merge_counts

_TARGET_BLOCKS = 400
_MIN_BLOCK_S = 1.0
_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class _Blocks:
    """One operation's requests summed per time block, over every run of the side (rows = blocks)."""

    keys: FloatArray  # latency histogram keys (ms), ascending
    hists: FloatArray  # blocks x keys
    total: FloatArray  # blocks
    failed: FloatArray  # blocks
    seconds: float  # length of one block

    @property
    def point(self) -> LatencyHistogram:
        """Every request merged, for the Locust-exact point estimate."""
        totals = self.hists.sum(axis=0)
        return LatencyHistogram({int(k): int(c) for k, c in zip(self.keys, totals, strict=True) if c})


def results_side(sources: SideSources, settings: StatsSettings) -> Side:
    histories = [load_history(run.path) for run in sources.runs]
    block_s = _block_seconds(histories)
    figures: dict[Key, Figure] = {}
    # The resampling products (~1000 x 400 x 200) are too small for BLAS threads to pay off, and their
    # threads spin-wait after every product, taking the core the other side is being read on.
    with threadpool_limits(limits=1, user_api="blas"):
        for operation, blocks in _operation_blocks(histories, block_s).items():
            figures.update(_operation_figures(operation, blocks, sources.role, settings))
        figures.update(_fault_figures(histories, sources.role, settings))
    figures.update(_integrity_figures(histories))
    notes = tuple(
        f"{run.path}: no integrity.json, integrity not compared"
        for run, history in zip(sources.runs, histories, strict=True)
        if history.integrity is None
    )
    return Side(sources.role, BROWNOUT, tuple(str(run) for run in sources.runs), figures, notes)


def _block_seconds(histories: list[History]) -> float:
    duration = sum(_span_seconds(h) for h in histories)
    bucket = max(h.manifest.bucket_s for h in histories)
    raw = max(_MIN_BLOCK_S, bucket, duration / _TARGET_BLOCKS)
    # Whole buckets per block, so no bucket straddles two blocks.
    return math.ceil(raw / bucket - 1e-9) * bucket


def _span_seconds(history: History) -> float:
    start, end = run_span(history)
    return max(end - start, history.manifest.bucket_s)


def _operation_blocks(histories: list[History], block_s: float) -> dict[str, _Blocks]:
    operations = sorted({op for h in histories for op in h.timeline.operations})
    per_operation: dict[str, list[tuple[OperationSeries, float, int]]] = {op: [] for op in operations}
    offset = 0  # blocks of earlier runs come first
    for history in histories:
        start, _ = run_span(history)
        count = math.ceil(_span_seconds(history) / block_s - 1e-9)
        for operation in history.timeline.operations:
            per_operation[operation].append((history.timeline.series[operation], start, offset))
        offset += count
    blocks = {op: _stack(parts, block_s, offset) for op, parts in per_operation.items()}
    if blocks:
        blocks[AGGREGATED] = _aggregate(list(blocks.values()), block_s)
    return blocks


def _stack(parts: list[tuple[OperationSeries, float, int]], block_s: float, blocks: int) -> _Blocks:
    """Sum each part's bucket histograms into its blocks, straight from the columnar histogram tables
    (no per-bucket dicts: an hour is ~14k buckets per operation and millions of key/count pairs)."""
    tables = [series.table for series, _, _ in parts]
    # Only keys some request of this operation has: the table's key array is shared by every operation
    # of a file, and unused columns would only widen the resampling matrix product.
    used = [t.keys[np.bincount(t.slots, minlength=len(t.keys)) > 0] for t in tables]
    keys = np.unique(np.concatenate(used))
    width = max(1, len(keys))
    cells: list[npt.NDArray[np.int64]] = []
    total = np.zeros(blocks)
    failed = np.zeros(blocks)
    for (series, start, offset), table in zip(parts, tables, strict=True):
        index = offset + np.floor((np.asarray(series.times) - start) / block_s + 1e-9).astype(np.int64)
        index = np.clip(index, 0, blocks - 1)
        total += np.bincount(index, weights=np.asarray(series.totals, dtype=np.float64), minlength=blocks)
        failed += np.bincount(index, weights=np.asarray(series.failed, dtype=np.float64), minlength=blocks)
        slot_of_key = np.searchsorted(keys, table.keys)
        cells.append(np.repeat(index, table.lengths) * width + slot_of_key[table.slots])
    counts = np.concatenate([t.counts for t in tables]).astype(np.float64)
    summed = np.bincount(np.concatenate(cells), weights=counts, minlength=blocks * len(keys))
    hists: FloatArray = summed.astype(np.float64, copy=False).reshape(blocks, len(keys))
    return _Blocks(keys.astype(np.float64), hists, total, failed, block_s)


def _aggregate(parts: list[_Blocks], block_s: float) -> _Blocks:
    keys = np.unique(np.concatenate([p.keys for p in parts]))
    hists = np.zeros((parts[0].hists.shape[0], len(keys)))
    for part in parts:
        hists[:, np.searchsorted(keys, part.keys)] += part.hists
    total = sum((p.total for p in parts), np.zeros_like(parts[0].total))
    failed = sum((p.failed for p in parts), np.zeros_like(parts[0].failed))
    return _Blocks(keys, hists, total, failed, block_s)


def _operation_figures(operation: str, blocks: _Blocks, role: str, settings: StatsSettings) -> dict[Key, Figure]:
    count = len(blocks.total)
    weights = resampling_weights(generator(settings.seed, role, operation, "blocks"), count, settings.replicates)
    resampled = weights @ blocks.hists
    point = blocks.point
    requests = int(blocks.total.sum())
    seconds = count * blocks.seconds
    basis = f"{count} blocks of {blocks.seconds:g} s"

    def figure(value: float | None, replicates: FloatArray) -> Figure:
        return Figure(value, replicates, basis, requests)

    resampled_total = weights @ blocks.total
    figures = {
        (OPERATION, operation, "rps"): figure(requests / seconds, resampled_total / seconds),
        (OPERATION, operation, "error_ratio"): figure(
            blocks.failed.sum() / requests if requests else None,
            ratio(weights @ blocks.failed, resampled_total),
        ),
        (OPERATION, operation, "max"): figure(
            _as_float(max(point.counts, default=None)), histogram_max(resampled, blocks.keys)
        ),
    }
    percentiles = histogram_quantiles(resampled, blocks.keys, list(_QUANTILES.values()))
    for (metric, quantile), replicates in zip(_QUANTILES.items(), percentiles, strict=True):
        figures[(OPERATION, operation, metric)] = figure(_as_float(point.percentile(quantile)), replicates)
    return figures


def _as_float(value: int | None) -> float | None:
    return None if value is None else float(value)


def _criteria(history: History) -> Criteria:
    table = history.manifest.scenario.get("criteria", {}) if isinstance(history.manifest.scenario, dict) else {}
    return Criteria.from_mapping(table or {}, source=f"{history.directory}/manifest.json", where="scenario.criteria")


def _fault_figures(histories: list[History], role: str, settings: StatsSettings) -> dict[Key, Figure]:
    """Per fault (by base name: `upstream-down#3` is a window of `upstream-down`) and metric, the mean
    over every window of every run, resampled over those windows. One window gives a point only: a
    single window says nothing about its own noise."""
    observed: dict[str, dict[str, list[float]]] = {}
    runs: dict[str, int] = {}
    for history in histories:
        for base, per_metric in fault_observations(history).items():
            runs[base] = runs.get(base, 0) + 1
            pooled = observed.setdefault(base, {metric: [] for metric in _FAULT_METRICS})
            for metric, values in per_metric.items():
                pooled[metric].extend(values)
    figures: dict[Key, Figure] = {}
    for base, pooled in observed.items():
        for metric, values in pooled.items():
            figures[(FAULT, base, metric)] = _over_windows(values, runs[base], (role, base, metric), settings)
    return figures


def fault_observations(history: History) -> dict[str, dict[str, list[float]]]:
    """base fault name -> metric -> one value per window of this run (calibration reads these)."""
    observed: dict[str, dict[str, list[float]]] = {}
    for label, values in _run_fault_values(history).items():
        per_metric = observed.setdefault(base_fault_name(label), {metric: [] for metric in _FAULT_METRICS})
        for metric, value in values.items():
            per_metric[metric].append(value)
    return observed


def _run_fault_values(history: History) -> dict[str, dict[str, float]]:
    """fault window label -> metric -> value, from the checks' own figures."""
    criteria = _criteria(history)
    checks = {
        "availability": check_availability, "recovery": check_recovery,
        "detection": check_detection, "resilience": check_resilience,
    }  # fmt: skip
    return window_values(
        lambda name: checks[name](history, criteria).figures, [w.label for w in fault_windows(history)]
    )


def _over_windows(values: list[float], runs: int, row: tuple[str, str, str], settings: StatsSettings) -> Figure:
    present = np.array([v for v in values if math.isfinite(v)], dtype=np.float64)
    if present.size == 0:
        return Figure(None)
    point = float(present.mean())
    if present.size < 2:
        return Figure(point, windows=1)
    weights = resampling_weights(generator(settings.seed, *row), present.size, settings.replicates)
    basis = f"{present.size} windows" + (f" of {runs} runs" if runs > 1 else "")
    return Figure(point, weights @ present / present.size, basis, windows=int(present.size))


def _integrity_figures(histories: list[History]) -> dict[Key, Figure]:
    reports = [h.integrity for h in histories]
    if any(report is None for report in reports):
        return {}
    totals = merge_counts(_integrity_counts(report) for report in reports if report is not None)
    return {(INTEGRITY, "integrity", name): Figure(float(value), model="exact count") for name, value in totals.items()}


def _integrity_counts(report: Integrity) -> dict[str, int]:
    """One run's integrity metrics (INTEGRITY_METRICS, and one per violation name)."""
    violations = merge_counts({violation_metric(name): count} for name, count in report.violations.items())
    return {
        "lost": report.lost, "duplicated": report.duplicated, "unverifiable": report.unverifiable,
        "stream_gaps": report.stream.gaps, "stream_duplicates": report.stream.duplicates,
        **violations, "unverified_runs": 0 if report.verified else 1,
    }  # fmt: skip
