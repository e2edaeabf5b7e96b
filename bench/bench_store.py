"""The run store: `brownout store add` of a 1-hour run and `brownout trend` over 200 runs (each as a command
in a fresh interpreter: wall time and the peak memory of its process; aim < 2 s and < 200 MB each), and the
change points `trend` finds on 30 synthetic runs over 6 releases where release 4 is 3x slower and release 5
restores it (any change point elsewhere is a false one).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.synthetic import SyntheticFault, write_synthetic_run
from brownout.compare.sources import resolve_side
from brownout.store.db import add_runs, open_store
from brownout.store.extract import read_run

TREND_RELEASES, TREND_RUNS = 40, 5  # 200 runs
SIX_FAULT = (SyntheticFault("upstream-down", 20.0, 30.0, recovery_s=2.0),)
FAULTS = (
    SyntheticFault("upstream-down", 600.0, 660.0, recovery_s=5.0),
    SyntheticFault("notifier-down", 1800.0, 1900.0),
)

# The command as `brownout` runs it, then this process's peak RSS (kB).
_COMMAND = (
    "import resource, sys\n"
    "from brownout.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(f'peak-rss-kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}')\n"
)


def _command(*args: str) -> tuple[float, float, str]:
    """Wall seconds, peak MB and stdout of `brownout ARGS` in a fresh interpreter."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _COMMAND, *args], capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - started
    if "peak-rss-kb " not in done.stdout:
        raise SystemExit(f"brownout {' '.join(args)} failed: {done.stderr[-2000:]}")
    return wall, int(done.stdout.rsplit("peak-rss-kb ", 1)[1]) / 1024, done.stdout


def _store_add_hour(root: Path) -> None:
    started = time.perf_counter()
    run = write_synthetic_run(root / "hour", seconds=3600.0, operations=5, rps=1000.0, seed=1, faults=FAULTS)
    size = (run / "timeline.csv").stat().st_size / 1e6
    print(f"synthetic 1-hour run written in {time.perf_counter() - started:.1f} s ({size:.0f} MB timeline)")
    wall, peak, _ = _command("store", "add", str(root / "hour.db"), str(run), "--release", "v1")
    print(f"store add of a 1-hour run: {wall:.2f} s wall, {peak:.0f} MB peak (aim < 2 s, < 200 MB)")
    again, _, _ = _command("store", "add", str(root / "hour.db"), str(run), "--release", "v1")
    print(f"  the same run again (a no-op): {again:.2f} s")


def _trend_200(root: Path) -> None:
    """200 stored runs: one real run's figures, jittered per run (reading 200 runs would only time the reader)."""
    run = write_synthetic_run(root / "one", seconds=60.0, operations=5, rps=200.0, seed=2, faults=FAULTS[:1])
    record = read_run(resolve_side("run", [str(run)]).runs[0], "v0")
    rng = np.random.default_rng(3)
    records = [
        replace(record, run_id=f"bench-{n}", label=f"r{n // TREND_RUNS:02d}", figures=tuple(
            replace(f, value=f.value * float(rng.normal(1.0, 0.03))) for f in record.figures))
        for n in range(TREND_RELEASES * TREND_RUNS)
    ]  # fmt: skip
    with open_store(root / "trend.db", create=True) as connection:
        add_runs(connection, records)
    wall, peak, out = _command("trend", str(root / "trend.db"), "--out", str(root / "trend"))
    first = out.splitlines()[0] + f", store {(root / 'trend.db').stat().st_size / 1e3:.0f} kB"
    print(
        f"trend over {len(records)} runs ({TREND_RELEASES} releases): {wall:.2f} s wall, {peak:.0f} MB peak ({first})"
    )


def _six_releases(root: Path) -> None:
    store = root / "six.db"
    for release in range(6):
        runs = [
            write_synthetic_run(root / f"six-{release}-{k}", seconds=60.0, seed=10 * release + k,
                                started_at=1.7e9 + 100 * (10 * release + k), slowdown=3.0 if release == 3 else 1.0,
                                faults=SIX_FAULT)
            for k in range(5)
        ]  # fmt: skip
        _command("store", "add", str(store), *map(str, runs), "--release", f"v{release + 1}")
    _command("trend", str(store), "--out", str(root / "six"))
    document = json.loads((root / "six" / "trend.json").read_text())
    found = [(row["scope"], row["metric"], c["release"]) for row in document["rows"] for c in row["change_points"]]
    expected = [f for f in found if f[2] in ("v4", "v5")]
    print(f"30 runs over 6 releases, v4 3x slower, v5 restored: {len(found)} change points, {len(expected)} at v4/v5")
    for scope, metric, release in found:
        print(f"  {release}: {scope} {metric}" + ("" if release in ("v4", "v5") else "  <- FALSE"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_store_") as directory:
        root = Path(directory)
        _store_add_hour(root)
        _trend_200(root)
        _six_releases(root)


if __name__ == "__main__":
    main()
