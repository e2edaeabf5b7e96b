"""End-to-end runs: `brownout run` / `locust -f locustfiles/recovery.py` as real subprocesses."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import psutil
import pytest

from brownout.history import Timeline, WindowStats
from tests.helpers import BROWNOUT, REPO_ROOT

SCENARIOS = Path(__file__).parent / "scenarios"


def run_dir_of(out: Path) -> Path:
    runs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, f"expected one run in {out}, found {runs}"
    return runs[0]


def everything(timeline: Timeline) -> WindowStats:
    """All requests of the whole run, every operation."""
    return timeline.window(0, 1e12)


def locust_total(results: Path) -> tuple[int, int]:
    """(requests, failures) of Locust's own Aggregated row."""
    with (results / "locust_stats.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return int(row["Request Count"]), int(row["Failure Count"])
    raise AssertionError("no Aggregated row in locust_stats.csv")


def processes_mentioning(text: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(text in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture
def run_brownout(tmp_path: Path):
    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*BROWNOUT, "run", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
        )

    return run
