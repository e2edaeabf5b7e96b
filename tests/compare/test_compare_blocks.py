"""The block bootstrap's inputs, read from brownout.history's columnar histogram tables, against plain
per-bucket LatencyHistogram arithmetic; and the one-run availability figure against the availability check."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench.synthetic import SyntheticFault, write_synthetic_run
from brownout.checks import Criteria
from brownout.checks.availability import check_availability
from brownout.compare.bootstrap import histogram_max, histogram_percentiles, histogram_quantiles
from brownout.compare.results_side import _block_seconds, _fault_figures, _operation_blocks, _operation_figures
from brownout.compare.tolerance import StatsSettings
from brownout.history import History, LatencyHistogram, Manifest, OperationSeries, load_history
from brownout.history.series import Timeline


def _reference_blocks(
    histories: list[History], operation: str, block_s: float, blocks: int, starts: list[int]
) -> dict[int, LatencyHistogram]:
    """Block -> merged histogram, bucket by bucket through the dict histograms (the slow, obvious way)."""
    from brownout.checks.windows import run_span

    merged: dict[int, LatencyHistogram] = {}
    for history, offset in zip(histories, starts, strict=True):
        series = history.timeline.series.get(operation)
        if series is None:
            continue
        start, _ = run_span(history)
        for t, hist in zip(series.times, series.hists, strict=True):
            block = min(blocks - 1, max(0, offset + math.floor((t - start) / block_s + 1e-9)))
            merged.setdefault(block, LatencyHistogram()).merge(hist)
    return merged


def _as_dicts(keys: np.ndarray, hists: np.ndarray) -> dict[int, dict[int, int]]:
    return {
        row: {int(k): int(c) for k, c in zip(keys, hists[row], strict=True) if c}
        for row in range(hists.shape[0])
        if hists[row].any()
    }


def test_blocks_from_tables_equal_summing_the_bucket_histograms(tmp_path: Path) -> None:
    # Two runs pooled: different operations (3 vs 5, so keys differ per run), and a file whose rows of one
    # bucket were written twice (the table merges them).
    first = write_synthetic_run(tmp_path / "one", seconds=30.0, operations=3, rps=300.0, seed=11)
    second = write_synthetic_run(tmp_path / "two", seconds=20.0, operations=5, rps=300.0, seed=12, slowdown=3.0)
    timeline = second / "timeline.csv"
    lines = timeline.read_text().splitlines()
    timeline.write_text("\n".join(lines + lines[1:40]) + "\n")
    histories = [load_history(first), load_history(second)]
    block_s = _block_seconds(histories)
    found = _operation_blocks(histories, block_s)
    blocks = len(found["Aggregated"].total)
    starts = [0, math.ceil(30.0 / block_s - 1e-9)]
    assert set(found) == {op for h in histories for op in h.timeline.operations} | {"Aggregated"}
    for operation, got in found.items():
        if operation == "Aggregated":
            continue
        expected = _reference_blocks(histories, operation, block_s, blocks, starts)
        assert _as_dicts(got.keys, got.hists) == {block: h.counts for block, h in expected.items()}, operation
        assert list(got.keys) == sorted({k for h in expected.values() for k in h.counts})  # no unused keys
        assert got.total.sum() == sum(sum(h.timeline.series[operation].totals) for h in histories if
                                      operation in h.timeline.series)  # fmt: skip
    aggregated = found["Aggregated"]
    everything = LatencyHistogram.merged(
        hist for h in histories for series in h.timeline.series.values() for hist in series.hists
    )
    assert _as_dicts(aggregated.keys, aggregated.hists.sum(axis=0, keepdims=True)) == {0: everything.counts}


def test_blocks_of_histograms_set_in_memory() -> None:
    # An OperationSeries whose histograms were given as objects (the `hists` setter builds its table).
    series = OperationSeries(1.0, [100.0, 101.0, 102.0], [3, 0, 5], [0, 0, 0], [0, 0, 0])
    series.hists = [LatencyHistogram({5: 2, 700: 1}), LatencyHistogram(), LatencyHistogram({5: 1, 12000: 4})]
    manifest = Manifest(started_at=100.0, ended_at=103.0, bucket_s=1.0)
    history = History(manifest=manifest, timeline=Timeline(1.0, {"GET /x": series}), users=[], faults=[])
    found = _operation_blocks([history], 1.0)["GET /x"]
    assert list(found.keys) == [5, 700, 12000]
    assert found.hists.tolist() == [[2, 1, 0], [0, 0, 0], [1, 0, 4]]
    assert found.total.tolist() == [3, 0, 5]


def test_an_operation_without_any_latency_has_no_percentiles() -> None:
    # Requests counted, but no histogram entry at all (every hist cell empty): no keys, no crash.
    series = OperationSeries(1.0, [100.0, 101.0], [0, 0], [0, 0], [4, 2])
    series.hists = [LatencyHistogram(), LatencyHistogram()]
    manifest = Manifest(started_at=100.0, ended_at=102.0, bucket_s=1.0)
    history = History(manifest=manifest, timeline=Timeline(1.0, {"GET /x": series}), users=[], faults=[])
    blocks = _operation_blocks([history], 1.0)["GET /x"]
    assert blocks.hists.shape == (2, 0)
    figures = _operation_figures("GET /x", blocks, "baseline", StatsSettings())
    for metric in ("p50", "p95", "p99", "max"):
        figure = figures[("operation", "GET /x", metric)]
        assert figure.value is None and not figure.has_interval, metric
    assert figures[("operation", "GET /x", "error_ratio")].value == 1.0


@pytest.mark.parametrize("quantiles", [(0.5, 0.95, 0.99), (0.0, 1.0), (0.66,)])
def test_several_quantiles_at_once_follow_locusts_rule(quantiles: tuple[float, ...]) -> None:
    rng = np.random.default_rng(5)
    keys = np.array([0, 3, 4, 50, 99, 100, 110, 1000, 1100, 20000], dtype=np.float64)
    counts = rng.integers(0, 3, size=(300, len(keys))).astype(np.float64)
    counts[:, -1] = 0  # a trailing key that nothing reached in most rows
    counts[7] = 0
    counts[8, :] = 0
    counts[8, 0] = 5  # everything at the smallest key
    for quantile, got in zip(quantiles, histogram_quantiles(counts, keys, quantiles), strict=True):
        assert np.array_equal(got, histogram_percentiles(counts, keys, quantile), equal_nan=True)
        for row, value in zip(counts, got, strict=True):
            expected = LatencyHistogram({int(k): int(c) for k, c in zip(keys, row, strict=True) if c}).percentile(
                quantile
            )
            assert (expected is None and np.isnan(value)) or value == expected


def test_no_keys_at_all_gives_no_percentiles() -> None:
    counts = np.zeros((4, 0))
    keys = np.zeros(0)
    assert all(np.isnan(values).all() for values in histogram_quantiles(counts, keys, (0.5, 0.99)))
    assert np.isnan(histogram_max(counts, keys)).all()


def test_one_run_availability_is_the_availability_checks_figure(tmp_path: Path) -> None:
    fault = (SyntheticFault("upstream-down", 10.0, 22.0), SyntheticFault("notifier-down", 30.0, 31.0))
    history = load_history(write_synthetic_run(tmp_path / "run", seconds=40.0, seed=13, faults=fault))
    figures = _fault_figures([history], "baseline", StatsSettings())
    checked = check_availability(history, Criteria.from_mapping({}, source="test")).figures["faults"]
    for fault_figures in checked:
        label = fault_figures["fault"]
        assert figures[("fault", label, "availability")].value == fault_figures["overall"]["availability"]
    # One window is one sample: no interval, however many blocks the window spans.
    assert not figures[("fault", "upstream-down", "availability")].has_interval
    assert figures[("fault", "upstream-down", "availability")].windows == 1
