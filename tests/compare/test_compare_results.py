"""`brownout compare` on brownout results directories: block bootstrap over timeline buckets, per-fault
figures from brownout.checks, integrity."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import rows, run_compare


def test_twenty_percent_p95_shift_is_detected_by_the_bootstrap(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, synthetic_runs["base"], synthetic_runs["slow"], "--out", tmp_path)
    assert code == 1, out + err
    found = rows(tmp_path)
    p95 = found[("Aggregated", "p95")]
    assert p95["verdict"] == "regressed"
    assert p95["method"] == "bootstrap over 120 blocks of 1 s"
    low, high = p95["interval"]
    assert 0 < low <= p95["delta"] <= high
    for operation in ("GET /threads/[id]", "POST /threads", "POST /threads/[id]/messages"):
        assert found[(operation, "p95")]["verdict"] == "regressed", operation


def test_two_samples_of_one_distribution_are_not_flagged(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, synthetic_runs["base"], synthetic_runs["same"], "--out", tmp_path)
    assert code == 0, out + err
    found = rows(tmp_path)
    assert [key for key, row in found.items() if row["verdict"] == "regressed"] == []
    p95 = found[("Aggregated", "p95")]
    assert p95["interval"][0] <= 0 <= p95["interval"][1] or abs(p95["relative"]) <= 0.1


def test_per_fault_rows_come_from_the_checks(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_compare(capsys, synthetic_runs["base"], synthetic_runs["same"], "--out", tmp_path)
    found = rows(tmp_path)
    availability = found[("upstream-down", "availability")]
    assert 0.55 < availability["baseline"] < 0.85  # 30 % failed during the window
    assert (availability["verdict"], availability["method"]) == (
        "not judged",
        "one window per side (repeat the fault or pool runs)",
    )
    assert found[("upstream-down", "recovery_s")]["baseline"] is not None
    assert found[("upstream-down", "detection_s")]["baseline"] is not None


def test_faults_in_one_side_only_are_listed(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(
        capsys, synthetic_runs["base"], synthetic_runs["other_fault"], "--out", tmp_path
    )
    assert code == 0, out + err
    found = rows(tmp_path)
    assert found[("upstream-down", "present")]["verdict"] == "only in baseline"
    assert found[("notifier-down", "present")]["verdict"] == "only in candidate"


def test_a_lost_write_is_a_regression(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_compare(capsys, synthetic_runs["base"], synthetic_runs["lossy"], "--out", tmp_path)
    assert code == 1
    lost = rows(tmp_path)[("integrity", "lost")]
    assert (lost["baseline"], lost["candidate"], lost["verdict"], lost["method"]) == (
        0,
        2,
        "regressed",
        "exact count",
    )


def test_several_results_directories_are_pooled(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(
        capsys, "--baseline", synthetic_runs["base"], "--baseline", synthetic_runs["same"],
        "--candidate", synthetic_runs["slow"], "--out", tmp_path,
    )  # fmt: skip
    assert code == 1, out + err
    found = rows(tmp_path)
    assert found[("Aggregated", "p95")]["method"] == "bootstrap over 240 blocks of 1 s vs 120 blocks of 1 s"
    recovery = found[("upstream-down", "recovery_s")]
    assert (recovery["verdict"], recovery["method"]) == (
        "not judged",
        "one window in the candidate (repeat the fault or pool runs)",
    )


def test_output_is_reproducible(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_compare(capsys, synthetic_runs["base"], synthetic_runs["slow"], "--out", tmp_path / "one")
    run_compare(capsys, synthetic_runs["base"], synthetic_runs["slow"], "--out", tmp_path / "two")
    assert (tmp_path / "one" / "comparison.json").read_text() == (
        tmp_path / "two" / "comparison.json"
    ).read_text()


def test_broken_results_directory_exits_2_with_the_readers_message(
    synthetic_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.synthetic import write_synthetic_run

    broken = write_synthetic_run(tmp_path / "broken", seconds=5.0)
    timeline = broken / "timeline.csv"
    lines = timeline.read_text().splitlines()
    timeline.write_text("\n".join(lines[:-1] + [lines[-1][:30]]) + "\n")  # a row cut off mid-write
    code, _, err = run_compare(capsys, synthetic_runs["base"], broken)
    assert code == 2
    assert f"{timeline}, line {len(lines)}: truncated row" in err and "Traceback" not in err
