"""`brownout report` on a synthetic 1-hour run at 1,000 req/s (timeline at 0.25 s x 5 operations = 72k rows,
20 faults, rising load, telemetry): wall time and peak memory of the report process, checks alone (json) side
by side with the full report (charts, HTML, Markdown, JUnit). Aims: <= 5 s, <= 300 MB."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from brownout.history.synthetic import SyntheticFault, SyntheticRun, write_synthetic_results

HOUR = 3600.0
RUN = SyntheticRun(
    duration_s=HOUR,
    rps=850.0,  # at the first step's users; throughput grows with users, ~1,040 req/s on average
    bucket_s=0.25,
    faults=tuple(
        SyntheticFault(f"fault-{i:02d}", 90.0 + i * 175.0, 90.0 + i * 175.0 + 30.0, recovery_s=3.0 + i % 5)
        for i in range(20)
    ),
    steps=((0.0, 100), (900.0, 115), (1800.0, 130), (2700.0, 145)),
)


def _report(results: Path, formats: str) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit code) of one `brownout report` child, its rusage taken by wait4."""
    script = Path(sys.executable).with_name("brownout")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "brownout"]
    started = time.perf_counter()
    child = subprocess.Popen(
        [*command, "report", str(results), "--format", formats, "--quiet"], stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, child.returncode  # ru_maxrss is in KiB on Linux


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as scratch:
        results = Path(scratch)
        started = time.perf_counter()
        write_synthetic_results(results, RUN)
        rows = sum(1 for _ in (results / "timeline.csv").open()) - 1
        size_mb = (results / "timeline.csv").stat().st_size / 1e6
        print(
            f"synthetic history: {rows} timeline rows ({size_mb:.1f} MB), 20 faults, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        load = os.getloadavg()[0]
        checks_wall, checks_cpu, checks_rss, checks_rc = _report(results, "json")
        full_wall, full_cpu, full_rss, full_rc = _report(results, "json,md,html,junit")
        print(f"load average before: {load:.1f} on {os.cpu_count()} CPUs (wall time suffers on a busy machine)")
        for what, wall, cpu, rss, rc in (
            ("checks only (verdict.json)", checks_wall, checks_cpu, checks_rss, checks_rc),
            ("full report (all formats)", full_wall, full_cpu, full_rss, full_rc),
        ):
            print(f"{what:<28} {wall:5.2f} s wall  {cpu:5.2f} s CPU  {rss:5.0f} MB peak  exit {rc}")
        print(
            f"full / checks-only: {full_wall / checks_wall:.2f}x time, {full_rss / checks_rss:.2f}x memory; "
            f"{rows / full_wall / 1000:.0f}k timeline rows/s"
        )
        print(
            f"aims: <= 5 s -> {'met' if full_wall <= 5 else 'MISSED'}, <= 300 MB -> "
            f"{'met' if full_rss <= 300 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
