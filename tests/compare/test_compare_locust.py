"""`brownout compare` on plain Locust CSV sets from real Locust runs of a locustfile without brownout."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import rows, run_compare


def test_thirty_percent_slower_build_is_a_regression(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, locust_sets["base"], locust_sets["slow"], "--out", tmp_path)
    assert code == 1, out + err
    found = rows(tmp_path)
    assert found[("Aggregated", "p50")]["verdict"] == "regressed"
    # Only the direction: how much slower a loaded machine measures 30 % is timing, not a property to assert
    # (it was 0.17 once beside three other test suites); the verdict already says it is past the tolerance.
    assert found[("Aggregated", "p50")]["relative"] > 0
    assert found[("Aggregated", "p50")]["method"] == "point estimate: tolerance only"
    assert "REGRESSION" in out and "! Aggregated" in out


def test_two_runs_of_the_same_build_are_not_a_regression(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_compare(capsys, locust_sets["base"], locust_sets["same"], "--out", tmp_path)
    assert code == 0, out + err
    found = rows(tmp_path)
    assert not [key for key, row in found.items() if row["verdict"] == "regressed"]
    # the single stats.csv gives no interval for latencies, and says so; the history gives one for rps
    assert found[("Aggregated", "p50")]["method"] == "point estimate: tolerance only"
    assert found[("Aggregated", "p99")]["method"].startswith("not judged: ")
    assert found[("Aggregated", "rps")]["method"].startswith("bootstrap over ")
    assert "history intervals" in found[("Aggregated", "rps")]["method"]


def test_outputs_are_markdown_self_contained_html_and_json(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_compare(capsys, locust_sets["base"], locust_sets["slow"], "--out", tmp_path)
    markdown = (tmp_path / "comparison.md").read_text()
    assert markdown.startswith("## brownout compare")
    assert "### Regressions" in markdown and "| Aggregated | p50 |" in markdown
    html = (tmp_path / "comparison.html").read_text()
    assert "<script" not in html and 'src="http' not in html
    encoded = html.split("data:image/png;base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(encoded).startswith(b"\x89PNG")
    document = json.loads((tmp_path / "comparison.json").read_text())
    assert document["regression"] is True and document["exit_code"] == 1
    assert document["baseline"]["kind"] == "locust"


def test_default_output_directory_is_the_candidate_directory(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    shutil.copytree(locust_sets["same"].parent, candidate)
    code, _, _ = run_compare(capsys, locust_sets["base"], candidate, "--format", "json")
    assert code == 0
    assert (candidate / "comparison.json").is_file() and not (candidate / "comparison.md").exists()


def test_several_runs_per_side_are_pooled_and_bootstrapped_over_runs(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Baseline: two runs of the build given as a comma-separated list; candidate: the same two as a glob.
    pool = tmp_path / "pool"
    for name in ("base", "same"):
        shutil.copytree(locust_sets[name].parent, pool / name)
    both = f"{locust_sets['base']},{locust_sets['same']}"
    code, out, err = run_compare(capsys, both, str(pool / "*" / "*_stats.csv"), "--out", tmp_path)
    assert code == 0, out + err
    found = rows(tmp_path)
    assert found[("Aggregated", "p50")]["method"] == "bootstrap over 2 runs"
    assert "2 runs, plain Locust CSV" in out


def test_console_script_exit_code(locust_sets: dict[str, Path], tmp_path: Path) -> None:
    brownout = Path(sys.executable).with_name("brownout")
    done = subprocess.run(
        [
            str(brownout),
            "compare",
            str(locust_sets["base"]),
            str(locust_sets["slow"]),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "regressed" in done.stdout
