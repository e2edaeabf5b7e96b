"""`brownout calibrate`: tolerances from the spread of same-build runs, read back by `compare --tolerance`;
a calibrated file edited into nonsense exits 2 naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.cli import main as brownout_main
from brownout.compare.metrics import METRICS
from brownout.compare.tolerance import load_tolerances

from .helpers import rows, run_compare
from .test_compare_fault_windows import flapping_run

# Each run's recovery figure is the mean of its two windows: 1.125, 1.375 and 1.625 s as measured (the
# third run's 2 s tail is seen one 0.25 s bucket late in the generator's noise).
RUNS = {"r1": ([1.0, 1.25], 1), "r2": ([1.25, 1.5], 2), "r3": ([2.0, 1.0], 3)}


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("calibrate")
    runs = [flapping_run(root / name, recoveries, seed) for name, (recoveries, seed) in RUNS.items()]
    out = root / "ci" / "tolerance.toml"
    assert brownout_main(["calibrate", *map(str, runs), "--out", str(out)]) == 0
    return out, runs


def test_the_tolerance_is_the_measured_spread(calibrated: tuple[Path, list[Path]]) -> None:
    out, _ = calibrated
    lines = out.read_text().splitlines()
    # recovery: sd 0.19094 s -> 3 * sqrt(2) * sd = 0.8101 s (> 1.5 x range 0.5625 s), over the median 1.375 s
    assert "recovery_s = 0.7714  # relative; runs: 1.12 s, 1.38 s, 1.62 s" in lines
    # availability is 60 % in every window: no spread, so the default stays
    assert "availability = 0.0508  # absolute; runs: 68.33 %, 70.60 %, 68.81 %" in lines
    # detection is 0 s everywhere: a zero median has no relative spread, so the time floor is written
    assert "detection_s = { relative = 0.0, floor = 1.0 }  # absolute; runs: 0.00 s, 0.00 s, 0.00 s" in lines
    assert '[faults."flap"]' in lines and '[operations."POST /threads/[id]/messages"]' in lines
    assert not any(line.startswith("max =") for line in lines)  # not judged by default: left out


def test_compare_reads_the_calibrated_file(
    calibrated: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, runs = calibrated
    tolerances = load_tolerances(str(out))
    allowance = tolerances.allowance(METRICS["recovery_s"], "fault", "flap")
    assert (allowance.relative, allowance.floor) == (0.7714, 1.0)
    assert tolerances.allowance(METRICS["detection_s"], "fault", "flap").allowed(0.0) == 1.0
    code, output, err = run_compare(capsys, runs[0], runs[1], "--tolerance", out, "--out", tmp_path)
    assert code == 0, output + err
    assert rows(tmp_path)[("flap", "recovery_s")]["tolerance"] == "77.14 % or 1.00 s"


def test_calibration_needs_three_runs(
    calibrated: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, runs = calibrated
    code = brownout_main(["calibrate", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "t.toml")])
    assert code == 2
    assert "calibration needs at least 3 runs of the same build, got 2" in capsys.readouterr().err
    assert not (tmp_path / "t.toml").exists()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "recovery_s = 0.7714",
            "recovery_s = -0.5",
            "[faults.\"flap\"]: field 'recovery_s': must not be negative, got -0.5",
        ),
        (
            "recovery_s = 0.7714",
            'recovery_s = "half"',
            "[faults.\"flap\"]: field 'recovery_s': must be a number, got a string 'half'",
        ),
        ("recovery_s = 0.7714", "recovery_s = nan", "[faults.\"flap\"]: field 'recovery_s': must be a number, got nan"),
        (
            "recovery_s = 0.7714",
            "recovery_s = true",
            "[faults.\"flap\"]: field 'recovery_s': must be a number, got a boolean True",
        ),
        (
            "recovery_s = 0.7714",
            "recovery = 0.5",
            "[faults.\"flap\"]: unknown metric 'recovery' (did you mean 'recovery_s'?)",
        ),
        (
            "recovery_s = 0.7714",
            "p95 = 0.5",
            "[faults.\"flap\"]: field 'p95': not a metric of faults; known: amplification",
        ),
        ('[faults."flap"]', '[faults."flap#2"]', '[faults."flap#2"]: faults are compared by name without the'),
        (
            "detection_s = { relative = 0.0, floor = 1.0 }",
            "detection_s = { relative = 0.0, flor = 1.0 }",
            "[faults.\"flap\"].detection_s: unknown field 'flor' (did you mean 'floor'?)",
        ),
        (
            "detection_s = { relative = 0.0, floor = 1.0 }",
            "detection_s = { relative = 0.0, floor = -1 }",
            "[faults.\"flap\"].detection_s: field 'floor': must not be negative, got -1",
        ),
        (
            '[faults."flap"]',
            '[stats]\nreplicates = 100.5\n[faults."flap"]',
            "[stats]: field 'replicates': must be an integer, got a number 100.5",
        ),
        (
            '[faults."flap"]',
            '[default]\nmin_tail_samples = -3\n[faults."flap"]',
            "[default]: field 'min_tail_samples': must not be negative, got -3",
        ),
        ('[faults."flap"]', '[fault."flap"]', "unknown table 'fault' (did you mean 'faults'?)"),
    ],
)
def test_a_calibrated_file_edited_into_nonsense_exits_2_naming_file_and_field(
    old: str,
    new: str,
    expected: str,
    calibrated: tuple[Path, list[Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, runs = calibrated
    text = out.read_text()
    assert old in text
    edited = tmp_path / "edited.toml"
    edited.write_text(text.replace(old, new, 1))
    code, _, err = run_compare(capsys, runs[0], runs[1], "--tolerance", edited, "--out", tmp_path)
    assert code == 2
    assert f"{edited}: " in err and expected in err, err
    assert "Traceback" not in err


def test_a_glob_over_a_results_folder_counts_the_latest_link_once(
    calibrated: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, runs = calibrated
    (runs[0].parent / "latest").symlink_to(runs[2].name)
    try:
        code = brownout_main(
            ["calibrate", str(runs[0].parent / "r*"), str(runs[0].parent / "latest"), "--out", str(tmp_path / "t.toml")]
        )
        assert code == 0
        assert "from 3 runs" in capsys.readouterr().out
    finally:
        (runs[0].parent / "latest").unlink()
