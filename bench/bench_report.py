"""`brownout report` on a synthetic 1-hour run at 1,000 req/s (timeline at 0.25 s x 5 operations = 72k rows,
20 faults, rising load, telemetry): wall time, CPU and peak memory of the report process, checks alone
(json) side by side with the full report (charts, HTML, Markdown, JUnit). Aims: <= 5 s, <= 300 MB.

Each variant runs 3 times, interleaved, and the median is shown (the machine is shared and noisy). With
BENCH_REPORT_BASELINE=/path/to/an/older/tree (a directory holding an older `brownout` package, e.g. a
`git worktree` of the previous commit) the same runs are made with that tree side by side, and the ratios
old / new are printed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import brownout
from bench.synthetic import SyntheticFault, SyntheticRun, write_synthetic_run

HOUR = 3600.0
RUN = SyntheticRun(
    seconds=HOUR,
    rps=850.0,  # at the first step's users; throughput grows with users, ~1,040 req/s on average
    bucket_s=0.25,
    faults=tuple(
        SyntheticFault(
            f"fault-{i:02d}", 90.0 + i * 175.0, 90.0 + i * 175.0 + 30.0,
            degraded_share=0.4, latency_ms=400.0, recovery_s=3.0 + i % 5,
        )  # fmt: skip
        for i in range(20)
    ),
    steps=((0.0, 100), (900.0, 115), (1800.0, 130), (2700.0, 145)),
    operations=5,
    seed=7,
)
REPEATS = 3
FORMATS = {"checks only (verdict.json)": "json", "full report (all formats)": "json,md,html,junit"}


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int


def _report(tree: Path, results: Path, formats: str) -> Sample:
    """One `brownout report` child importing brownout from `tree`; its rusage taken by wait4."""
    environment = os.environ | {"PYTHONPATH": str(tree)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "brownout", "report", str(results), "--format", formats, "--quiet"],
        stdout=subprocess.DEVNULL,
        env=environment,
        cwd=results,
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))  # KiB on Linux


def _median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.wall_s for s in samples),
        statistics.median(s.cpu_s for s in samples),
        statistics.median(s.peak_mb for s in samples),
        max(s.exit_code for s in samples),
    )


def main() -> None:
    current = Path(brownout.__file__).resolve().parents[1]
    baseline_text = os.environ.get("BENCH_REPORT_BASELINE")
    trees = {"this tree": current}
    if baseline_text:
        trees = {"baseline": Path(baseline_text).resolve()} | trees
    with tempfile.TemporaryDirectory(prefix="bench-report-") as scratch:
        results = Path(scratch)
        started = time.perf_counter()
        write_synthetic_run(results, RUN)
        rows = sum(1 for _ in (results / "timeline.csv").open()) - 1
        size_mb = (results / "timeline.csv").stat().st_size / 1e6
        print(
            f"synthetic history: {rows} timeline rows ({size_mb:.1f} MB), 20 faults, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        load = os.getloadavg()[0]
        samples: dict[tuple[str, str], list[Sample]] = {}
        for _ in range(REPEATS):  # interleaved, so a busy spell hits every variant alike
            for tree_name, tree in trees.items():
                for what, formats in FORMATS.items():
                    samples.setdefault((tree_name, what), []).append(_report(tree, results, formats))
        print(
            f"load average before: {load:.1f} on {os.cpu_count()} CPUs (wall time suffers on a busy machine); "
            f"medians of {REPEATS} runs"
        )
        medians = {key: _median(runs) for key, runs in samples.items()}
        for (tree_name, what), m in medians.items():
            print(
                f"{tree_name:<10} {what:<28} {m.wall_s:5.2f} s wall  {m.cpu_s:5.2f} s CPU  "
                f"{m.peak_mb:5.0f} MB peak  exit {m.exit_code}"
            )
        checks, full = (medians["this tree", what] for what in FORMATS)
        print(
            f"full / checks-only: {full.wall_s / checks.wall_s:.2f}x time, {full.peak_mb / checks.peak_mb:.2f}x "
            f"memory; {rows / full.wall_s / 1000:.0f}k timeline rows/s"
        )
        if baseline_text:
            for what in FORMATS:
                old, new = medians["baseline", what], medians["this tree", what]
                print(
                    f"baseline / this tree, {what}: {old.wall_s / new.wall_s:.2f}x wall, "
                    f"{old.cpu_s / new.cpu_s:.2f}x CPU, {old.peak_mb / new.peak_mb:.2f}x memory"
                )
        print(
            f"aims: <= 5 s -> {'met' if full.wall_s <= 5 else 'MISSED'}, <= 300 MB -> "
            f"{'met' if full.peak_mb <= 300 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
