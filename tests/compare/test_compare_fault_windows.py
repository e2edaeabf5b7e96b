"""Per-fault rows are judged only with an interval over the fault's windows (its repetitions, and the
runs of a pooled side); one window per side is shown but not judged unless the change is beyond a wide
floor. Synthetic results directories whose windows recover in exactly the given times."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from bench.synthetic import SyntheticFault, SyntheticRun, write_synthetic_run
from brownout.compare.bootstrap import few_units_interval, student_t_quantile
from brownout.compare.metrics import METRICS, WIDE_FLOORS

from .helpers import rows, run_compare

BASE = [1.0, 1.25, 0.75, 1.0, 1.5]
SAME = [1.25, 0.75, 1.0, 1.5, 1.0]  # the same recoveries in another order, another seed
SLOW = [3.0, 3.25, 2.75, 3.0, 3.5]  # every recovery 2 s longer


def flapping_run(directory: Path, recoveries: list[float], seed: int) -> Path:
    """One window of `flap` per recovery time (`flap`, `flap#2`, ...), 5 s each, every 20 s."""
    faults = tuple(
        SyntheticFault("flap" if k == 0 else f"flap#{k + 1}", 10 + 20 * k, 15 + 20 * k, recovery_s=seconds)
        for k, seconds in enumerate(recoveries)
    )
    run = SyntheticRun(seconds=20 * len(recoveries) + 10, rps=100, faults=faults, seed=seed)
    return write_synthetic_run(directory, run)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fault_windows")
    plans = {
        "base": (BASE, 1), "same": (SAME, 2), "slow": (SLOW, 3),
        "one": ([1.0], 4), "one_again": ([1.25], 5), "one_slow": ([2.5], 6), "one_stuck": ([8.0], 7),
    }  # fmt: skip
    return {name: flapping_run(root / name, recoveries, seed) for name, (recoveries, seed) in plans.items()}


def test_same_distribution_repetitions_are_judged_with_an_interval_and_not_flagged(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, runs["base"], runs["same"], "--out", tmp_path)
    assert code == 0, out + err
    recovery = rows(tmp_path)[("flap", "recovery_s")]
    assert (recovery["baseline"], recovery["candidate"], recovery["delta"]) == (1.1, 1.1, 0.0)
    assert (recovery["verdict"], recovery["method"]) == ("same", "bootstrap over 5 windows (Welch t)")
    low, high = recovery["interval"]
    assert low < 0 < high


def test_a_real_shift_over_five_repetitions_is_flagged(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, runs["base"], runs["slow"], "--out", tmp_path)
    assert code == 1, out + err
    found = rows(tmp_path)
    recovery = found[("flap", "recovery_s")]
    assert (recovery["baseline"], recovery["candidate"]) == (1.1, 3.1)
    assert recovery["delta"] == pytest.approx(2.0)
    assert (recovery["verdict"], recovery["method"]) == ("regressed", "bootstrap over 5 windows (Welch t)")
    # The interval is the Welch t interval of the two means, from bootstrap variances scaled by n/(n-1).
    standard_error = (statistics.variance(BASE) / 5 + statistics.variance(SLOW) / 5) ** 0.5
    low, high = recovery["interval"]
    assert 0 < low < 2.0 < high
    level = 1 - (1 - 0.95) / _rows_with_interval(found)
    expected_half = student_t_quantile(0.5 + level / 2, 8.0) * standard_error  # equal variances: 8 df
    assert (high - low) / 2 == pytest.approx(expected_half, rel=0.15)
    # among the fault rows (longer recovery tails slow some requests too, so request rows may move)
    flagged = [key for key, row in found.items() if row["verdict"] == "regressed" and key[0] == "flap"]
    assert flagged == [("flap", "recovery_s")]


def _rows_with_interval(found: dict[tuple[str, str], dict[str, object]]) -> int:
    return sum(1 for row in found.values() if row["interval"] is not None)


def test_one_window_per_side_is_not_judged_within_the_wide_floor(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, runs["one"], runs["one_slow"], "--out", tmp_path)
    assert code == 0, out + err
    found = rows(tmp_path)
    recovery = found[("flap", "recovery_s")]
    assert (recovery["baseline"], recovery["candidate"], recovery["interval"]) == (1.0, 2.5, None)
    assert (recovery["verdict"], recovery["method"]) == (
        "not judged", "one window per side (repeat the fault or pool runs)",
    )  # fmt: skip
    for metric in ("availability", "detection_s", "amplification"):
        assert found[("flap", metric)]["verdict"] == "not judged"
    assert "4 not judged" in out


def test_one_window_per_side_is_judged_beyond_the_wide_floor(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, runs["one"], runs["one_stuck"], "--out", tmp_path)
    assert code == 1, out + err
    recovery = rows(tmp_path)[("flap", "recovery_s")]
    assert (recovery["baseline"], recovery["candidate"], recovery["verdict"], recovery["method"]) == (
        1.0, 8.0, "regressed", "one window per side, beyond the wide floor (x3 and +5.00 s)",
    )  # fmt: skip
    # and the other way round it is an improvement
    code, _, _ = run_compare(capsys, runs["one_stuck"], runs["one"], "--out", tmp_path / "back")
    assert code == 0
    assert rows(tmp_path / "back")[("flap", "recovery_s")]["verdict"] == "improved"


def test_pooled_runs_of_one_window_each_give_an_interval_over_runs(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(
        capsys, "-b", runs["one"], "-b", runs["one_again"], "-c", runs["one_again"], "-c", runs["one"],
        "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, out + err
    recovery = rows(tmp_path)[("flap", "recovery_s")]
    assert (recovery["baseline"], recovery["candidate"]) == (1.125, 1.125)
    assert (recovery["verdict"], recovery["method"]) == ("same", "bootstrap over 2 windows of 2 runs (Welch t)")


def test_five_windows_against_one_are_not_judged_within_the_floor(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, runs["base"], runs["one_slow"], "--out", tmp_path)
    assert code == 0, out + err
    recovery = rows(tmp_path)[("flap", "recovery_s")]
    assert (recovery["verdict"], recovery["method"]) == (
        "not judged", "one window in the candidate (repeat the fault or pool runs)",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "base", "new", "expected"),
    [
        ("availability", 0.95, 0.76, 0),  # -19 pp
        ("availability", 0.95, 0.74, 1),  # -21 pp
        ("availability", 0.70, 0.95, -1),
        ("recovery_s", 1.0, 5.9, 0),  # x5.9 but +4.9 s
        ("recovery_s", 3.0, 8.5, 0),  # +5.5 s but x2.8
        ("recovery_s", 3.0, 9.5, 1),
        ("recovery_s", 0.0, 5.5, 1),
        ("recovery_s", 9.5, 3.0, -1),
        ("detection_s", 0.65, 3.10, 0),  # the same-build pair of issue 9
        ("amplification", 1.0, 1.2, 0),  # likewise
        ("amplification", 1.0, 2.1, 1),
        ("amplification", 1.5, 2.9, 0),  # +1.4 but x1.9
    ],
)
def test_the_wide_floor(metric: str, base: float, new: float, expected: int) -> None:
    assert WIDE_FLOORS[metric].direction(METRICS[metric], base, new) == expected


def test_student_t_quantiles_and_the_few_units_interval() -> None:
    import numpy as np

    for probability, df, table in [(0.975, 4, 2.776), (0.999, 4, 7.173), (0.975, 1, 12.706), (0.995, 10, 3.169)]:
        assert student_t_quantile(probability, df) == pytest.approx(table, abs=0.002)
    # Replicates with bootstrap variance 0.04 * 4/5 per side, 5 windows each: SE 0.2 * sqrt(2), 8 df.
    spread = (0.04 * 4 / 5 * 99 / 100) ** 0.5  # 100 replicates of +-spread: variance (ddof 1) 0.032
    replicates = np.tile([-spread, spread], 50)
    low, high = few_units_interval(replicates, replicates, (5, 5), 1.0, 0.95)  # type: ignore[misc]
    assert (high - low) / 2 == pytest.approx(2.306 * 0.2 * 2**0.5, rel=1e-3)
    assert few_units_interval(replicates, replicates, (1, 5), 1.0, 0.95) is None
