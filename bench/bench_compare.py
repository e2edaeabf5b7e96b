"""`brownout compare`: speed on two 1-hour histories, and noise behaviour on real short Locust runs.

1. Two synthetic 1-hour brownout histories (0.25 s buckets, 5 operations, 1,000 req/s): wall time of
   the comparison (reading both results directories, checks, bootstrap), median of three, aim <= 2 s;
   then the whole command once in a fresh interpreter, with the peak memory of its largest process.
2. Ten rounds of three concurrent 10 s, 12-user Locust runs of a plain locustfile against a local app:
   two of the same build (false alarm if compare exits 1; aim 0 of 10) and one whose answers are 20 %
   slower (detected if the Aggregated p95 row regresses; aim 10 of 10).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.plain_runs import plain_app, run_locust_concurrently
from bench.synthetic import SyntheticFault, write_synthetic_run
from brownout.compare.comparison import compare
from brownout.compare.render_text import Comparison
from brownout.compare.sources import resolve_side
from brownout.compare.tolerance import Tolerances

ROUNDS = 10
HOUR_RUNS = 3  # the machine is shared: a median of three
BASE_DELAY_MS = 200.0  # Locust's 10 ms rounding above 100 ms keeps 20 % (240 ms) clear of the grid
USERS = 12
SECONDS = 10
SLOWDOWN = 1.2


def _compare(baseline: Path, candidate: Path) -> tuple[float, Comparison]:
    started = time.perf_counter()
    result = compare(
        resolve_side("baseline", [str(baseline)]), resolve_side("candidate", [str(candidate)]), Tolerances()
    )
    return time.perf_counter() - started, result


def _hour_of_history(root: Path) -> None:
    faults = (SyntheticFault("upstream-down", 600.0, 660.0), SyntheticFault("notifier-down", 1800.0, 1900.0))
    started = time.perf_counter()
    for name, seed in (("a", 1), ("b", 2)):
        write_synthetic_run(root / name, seconds=3600.0, operations=5, rps=1000.0, seed=seed, faults=faults)
    size = (root / "a" / "timeline.csv").stat().st_size / 1e6
    print(f"synthetic 1-hour histories written in {time.perf_counter() - started:.1f} s ({size:.0f} MB each)")
    runs = [_compare(root / "a", root / "b") for _ in range(HOUR_RUNS)]
    seconds = statistics.median(wall for wall, _ in runs)
    each = ", ".join(f"{wall:.2f}" for wall, _ in runs)
    print(
        f"compare two 1-hour histories: {seconds:.2f} s wall, median of {HOUR_RUNS} ({each} s) "
        f"(aim <= 2 s, ratio {seconds / 2.0:.2f})"
    )
    print(f"  {runs[-1][1].summary()}")
    wall, peak_mb = _cli_compare(root / "a", root / "b", root / "out")
    print(f"  as a command (brownout compare --format json): {wall:.2f} s wall, largest process {peak_mb:.0f} MB")


# The command as `brownout compare` runs it, then the peak RSS (kB) of the largest process it had.
_COMMAND = (
    "import resource, sys\n"
    "from brownout.cli import main\n"
    "main(['compare', *sys.argv[1:]])\n"
    "peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
    "print(f'peak-rss-kb {peak}')\n"
)


def _cli_compare(baseline: Path, candidate: Path, out: Path) -> tuple[float, float]:
    """The whole command in a fresh interpreter (start-up, imports, both sides, comparison.json): wall
    seconds and the peak RSS in MB of its largest process (the side-reading children are reaped by then)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _COMMAND, str(baseline), str(candidate), "--format", "json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    wall = time.perf_counter() - started
    peak_kb = int(done.stdout.rsplit("peak-rss-kb ", 1)[1])
    return wall, peak_kb / 1024


def _real_runs(root: Path) -> None:
    false_alarms = detections = 0
    started = time.perf_counter()
    with plain_app(BASE_DELAY_MS) as base_url, plain_app(BASE_DELAY_MS * SLOWDOWN) as slow_url:
        for index in range(ROUNDS):
            runs = {
                root / f"r{index}" / name: url for name, url in (("a", base_url), ("b", base_url), ("slow", slow_url))
            }
            run_locust_concurrently(runs, seconds=SECONDS, users=USERS)
            a, b, slow = list(runs)
            same, slower = _compare(a, b)[1], _compare(a, slow)[1]
            p95 = next(r for r in slower.rows if (r.scope, r.metric) == ("Aggregated", "p95"))
            alarm, detected = same.exit_code == 1, p95.verdict == "regressed"
            false_alarms += alarm
            detections += detected
            alarm_text = "FALSE ALARM " + ", ".join(f"{r.scope} {r.metric}" for r in same.regressions)
            print(
                f"  round {index + 1:2d}: same build {alarm_text if alarm else 'ok'}; 20 % slower p95 "
                f"{p95.baseline:.0f} -> {p95.candidate:.0f} ms {'detected' if detected else 'MISSED'} "
                f"({p95.method})"
            )
    print(f"real Locust runs ({time.perf_counter() - started:.0f} s):")
    print(f"  false alarms, same build:      {false_alarms} of {ROUNDS} (aim 0)")
    print(f"  detected 20 % p95 slowdown:    {detections} of {ROUNDS} (aim {ROUNDS})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_compare_") as directory:
        root = Path(directory)
        _hour_of_history(root / "hour")
        _real_runs(root / "locust")


if __name__ == "__main__":
    main()
