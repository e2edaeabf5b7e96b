"""Pure pieces of the comparison: vectorised percentiles, verdict rules, tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from brownout.compare.bootstrap import histogram_max, histogram_percentiles
from brownout.compare.figures import Figure
from brownout.compare.metrics import METRICS
from brownout.compare.tolerance import Tolerances, load_tolerances
from brownout.compare.verdict import judge
from brownout.history import LatencyHistogram


@pytest.mark.parametrize("quantile", [0.0, 0.5, 0.66, 0.95, 0.99, 1.0])
def test_vectorised_percentile_equals_the_history_histograms(quantile: float) -> None:
    rng = np.random.default_rng(3)
    keys = np.array([1, 2, 5, 9, 10, 40, 110, 120, 900, 1500], dtype=np.float64)
    counts = rng.integers(0, 4, size=(200, len(keys))).astype(np.float64)
    counts[0] = 0  # an empty row
    got = histogram_percentiles(counts, keys, quantile)
    for row, value in zip(counts, got, strict=True):
        expected = LatencyHistogram({int(k): int(c) for k, c in zip(keys, row, strict=True) if c}).percentile(
            quantile
        )
        assert (np.isnan(value) and expected is None) or value == expected
    assert np.isnan(histogram_max(counts, keys)[0])


def _judge(metric: str, base: float, new: float, spread: float | None = None, requests: int = 10_000) -> str:
    def figure(value: float, seed: int) -> Figure:
        if spread is None:
            return Figure(value, requests=requests)
        draws = np.random.default_rng(seed).normal(value, spread, 1000)
        return Figure(value, draws, "100 blocks of 1 s", requests)

    return judge(
        METRICS[metric], "operation", "GET /x", figure(base, 1), figure(new, 2), Tolerances()
    ).verdict


def test_a_regression_must_be_beyond_the_tolerance_and_outside_the_interval() -> None:
    assert _judge("p95", 100.0, 120.0) == "regressed"  # point estimates: tolerance alone
    assert _judge("p95", 100.0, 108.0) == "same"  # within 10 %
    assert _judge("p95", 100.0, 120.0, spread=1.0) == "regressed"
    assert _judge("p95", 100.0, 120.0, spread=30.0) == "same"  # too noisy to tell
    assert _judge("p95", 100.0, 80.0, spread=1.0) == "improved"
    assert _judge("p50", 5.0, 6.5) == "same"  # +30 % but under the 2 ms floor
    assert _judge("rps", 100.0, 85.0) == "regressed"  # higher is better
    assert _judge("error_ratio", 0.001, 0.02) == "regressed"  # +1.9 percentage points
    assert _judge("max", 100.0, 400.0) == "same"  # shown, not judged by default
    assert _judge("p99", 100.0, 150.0, requests=300) == "same"  # 3 requests beyond p99: not judged


def test_tolerance_file_overrides_defaults(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "t.toml"
    path.write_text(
        "[default]\np95 = 0.2\nlatency_floor_ms = 5\nmax = 0.5\n[stats]\nconfidence = 0.9\n"
        '[operations."GET /x"]\np95 = 0.3\n[faults."kill"]\nrecovery_s = { relative = 1.0, floor = 3 }\n'
    )
    tolerances = load_tolerances(str(path))
    p95 = METRICS["p95"]
    assert tolerances.allowance(p95, "operation", "GET /y").allowed(100.0) == pytest.approx(20.0)
    assert tolerances.allowance(p95, "operation", "GET /y").allowed(10.0) == pytest.approx(5.0)
    assert tolerances.allowance(p95, "operation", "GET /x").allowed(100.0) == pytest.approx(30.0)
    assert tolerances.allowance(METRICS["max"], "operation", "GET /y").allowed(100.0) == pytest.approx(50.0)
    assert tolerances.allowance(METRICS["recovery_s"], "fault", "kill").allowed(2.0) == pytest.approx(3.0)
    assert tolerances.stats.confidence == 0.9
