"""Inputs `brownout compare` must handle or reject precisely: one-sided operations, older Locust headers,
empty / truncated / foreign files, missing paths, mixed kinds, bad tolerance files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from .helpers import rows, run_compare


def _copy_set(prefix: Path, destination: Path) -> Path:
    shutil.copytree(prefix.parent, destination)
    return destination / prefix.name


def _rewrite(path: Path, transform: object) -> None:
    with path.open(newline="") as handle:
        table = list(csv.reader(handle))
    table = transform(table)  # type: ignore[operator]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(table)


def test_operation_in_one_side_only_is_listed_not_fatal(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = _copy_set(locust_sets["same"], tmp_path / "candidate")
    stats = Path(f"{candidate}_stats.csv")
    _rewrite(stats, lambda table: [row for row in table if row[1] != "/submit"])
    code, out, err = run_compare(capsys, locust_sets["base"], candidate, "--out", tmp_path)
    assert code == 0, out + err
    found = rows(tmp_path)
    assert found[("POST /submit", "requests")]["verdict"] == "only in baseline"
    assert found[("GET /work", "p50")]["verdict"] == "same"
    assert "only in baseline" in out


def _old_locust(table: list[list[str]]) -> list[list[str]]:
    """Locust 1.x-style stats: 'Method', '# requests', no 50% column (median only), no 99.99%."""
    header = table[0]
    renames = {
        "Type": "Method", "Request Count": "# requests", "Failure Count": "# failures",
        "Median Response Time": "Median response time", "Average Response Time": "Average response time",
        "Min Response Time": "Min response time", "Max Response Time": "Max response time",
    }  # fmt: skip
    drop = {header.index("50%"), header.index("99.99%")}
    renamed = [renames.get(cell, cell) for cell in header]
    return [[cell for i, cell in enumerate(row) if i not in drop] for row in [renamed, *table[1:]]]


def test_older_locust_headers_are_mapped(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = _copy_set(locust_sets["base"], tmp_path / "old")
    _rewrite(Path(f"{baseline}_stats.csv"), _old_locust)
    code, out, err = run_compare(capsys, baseline, locust_sets["slow"], "--out", tmp_path)
    assert code == 1, out + err
    found = rows(tmp_path)
    assert found[("Aggregated", "p50")]["verdict"] == "regressed"  # p50 came from the median column
    assert found[("Aggregated", "p95")]["baseline"] is not None
    assert "p50 taken from 'Median response time'" in out


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda path: path.write_text(""), "empty file"),
        (lambda path: path.write_text(path.read_text()[:-40]), "line 4: "),
        (
            lambda path: path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n"),
            "no 'Aggregated' row",
        ),
        (
            lambda path: path.write_text(path.read_text().replace("Request Count", "Hits", 1)),
            "unknown column(s) 'Hits'",
        ),
        (
            lambda path: path.write_text(path.read_text().replace(",0,", ",zero,", 1)),
            "is not a number",
        ),
    ],
    ids=["empty", "truncated-row", "truncated-before-aggregated", "unknown-column", "not-a-number"],
)
def test_damaged_stats_file_exits_2_naming_file_and_line(
    damage: object,
    expected: str,
    locust_sets: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    candidate = _copy_set(locust_sets["same"], tmp_path / "damaged")
    stats = Path(f"{candidate}_stats.csv")
    damage(stats)  # type: ignore[operator]
    code, out, err = run_compare(capsys, locust_sets["base"], candidate, "--out", tmp_path)
    assert code == 2
    assert str(stats) in err and expected in err, err
    assert "Traceback" not in err + out


def test_truncated_history_names_its_line(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = _copy_set(locust_sets["same"], tmp_path / "damaged")
    history = Path(f"{candidate}_stats_history.csv")
    lines = history.read_text().splitlines()
    history.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20] + "\n")
    code, _, err = run_compare(capsys, locust_sets["base"], candidate)
    assert code == 2
    assert f"{history} line {len(lines)}:" in err and "truncated" in err


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: tmp / "nowhere", "not found"),
        (lambda tmp: tmp, "neither a brownout manifest.json nor any *_stats.csv"),
        (lambda tmp: str(tmp / "nothing-*"), "nothing matches"),
    ],
    ids=["missing", "empty-dir", "glob-without-match"],
)
def test_unusable_paths_exit_2(
    make: object,
    expected: str,
    locust_sets: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_compare(capsys, locust_sets["base"], make(tmp_path))  # type: ignore[operator]
    assert code == 2
    assert "candidate:" in err and expected in err, err


def test_mixing_kinds_within_a_side_is_rejected(
    locust_sets: dict[str, Path], synthetic_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = f"{locust_sets['base']},{synthetic_runs['base']}"
    code, _, err = run_compare(capsys, mixed, locust_sets["same"])
    assert code == 2 and "mixes brownout results directories and plain Locust CSV sets" in err


def test_brownout_directory_against_plain_locust_is_compared_and_said(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.synthetic import write_synthetic_run

    results = write_synthetic_run(tmp_path / "results", seconds=10.0)
    shutil.copy(f"{locust_sets['base']}_stats.csv", results / "locust_stats.csv")
    code, out, err = run_compare(capsys, results, locust_sets["same"], "--out", tmp_path)
    assert code == 0, out + err
    assert "baseline is a brownout results directory, candidate is a plain Locust CSV set" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[default]\np95 = 'ten'\n", "[default]: field 'p95': must be a number, got a string 'ten'"),
        ("[default]\np96 = 0.1\n", "[default]: unknown key 'p96' (did you mean 'p99'?)"),
        ('[operations."GET /work"]\nlatency = 0.1\n', "[operations.\"GET /work\"]: unknown metric 'latency' (known: "),
        ("[defaults]\n", "unknown table 'defaults' (did you mean 'default'?)"),
        ("[default\n", "not valid TOML"),
    ],
)
def test_bad_tolerance_file_exits_2(
    text: str, expected: str, locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tolerance = tmp_path / "tolerance.toml"
    tolerance.write_text(text)
    code, _, err = run_compare(capsys, locust_sets["base"], locust_sets["same"], "--tolerance", tolerance)
    assert code == 2
    assert str(tolerance) in err and expected in err, err


def test_tolerance_file_widens_one_operation(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tolerance = tmp_path / "tolerance.toml"
    # A 6 s run's per-operation rps swings widely (random task choice over a few dozen requests); this test
    # is about widening latency tolerances, so rps is given room.
    tolerance.write_text(
        '[default]\nrps = 0.9\n[operations."Aggregated"]\np50 = 0.5\np95 = 0.5\n'
        '[operations."GET /work"]\np50 = 0.5\n'
        '[operations."POST /submit"]\np50 = { relative = 0.5, floor = 5 }\n'
    )
    code, out, err = run_compare(
        capsys, locust_sets["base"], locust_sets["slow"], "--tolerance", tolerance, "--out", tmp_path
    )
    assert code == 0, out + err
    assert rows(tmp_path)[("Aggregated", "p50")]["tolerance"] == "50 % or 2.0 ms"


def test_tolerance_names_that_match_nothing_are_warned_and_a_name_without_its_type_is_accepted(
    locust_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    tolerance = tmp_path / "tolerance.toml"
    tolerance.write_text(
        '[default]\nrps = 0.9\n[operations."/work"]\np50 = 0.7\n[operations."GET /wrok"]\np50 = 0.5\n'
        '[faults."db-down"]\nrecovery_s = 0.5\n'
    )
    code, out, err = run_compare(
        capsys, locust_sets["base"], locust_sets["same"], "--tolerance", tolerance, "--out", tmp_path
    )
    assert code == 0, out + err  # warnings leave the exit code alone
    warnings = [
        f"{tolerance}: [operations.\"GET /wrok\"]: 'GET /wrok' matches no operation of either side "
        "(did you mean 'GET /work'?)",
        f'{tolerance}: [faults."db-down"]: names no fault of either side',
    ]
    assert [line.removeprefix("warning: ") for line in out.splitlines() if line.startswith("warning: ")] == warnings
    assert json.loads((tmp_path / "comparison.json").read_text())["warnings"] == warnings
    assert rows(tmp_path)[("GET /work", "p50")]["tolerance"].startswith("70 %")  # "/work" is GET /work's
