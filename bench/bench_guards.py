"""Guards: do they stop a run whose service is broken for good, fast, healed and with nothing left running,
and do they leave healthy runs alone?

    python -m bench guards                       # 10 broken runs, then 10 healthy ci runs with a guard
    python -m bench.bench_guards broken -n 10    # only the broken ones
    python -m bench.bench_guards healthy -n 10   # only ci + [guard] error_ratio_max = 0.5, window = "10s"

A broken run is tests/run/scenarios/guarded.toml: the sample's gateway killed at 6 s and left down to the
end (a component fault lasting to the end), with an availability floor during faults over a 5 s window.
Each must abort within window + 2 s of the kill with every fault healed, exit 1, and leave no process of
the run alive (every process under `brownout run`, seen with psutil while it ran). Runs go one after
another (2 cores); the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from brownout.history import read_faults, read_guard

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests/run/scenarios/guarded.toml"
HEALTHY_GUARD = '\n[guard]\nerror_ratio_max = 0.5\nwindow = "10s"\n'
_WINDOW_S = 5.0  # guarded.toml's window


@dataclass(frozen=True)
class GuardedRun:
    """One `brownout run`, as the guards' figures need it."""

    code: int
    results: Path
    abort_line: str | None  # guard.json's message, None when the run went to its end
    abort_after_s: float | None  # from the first fault's actual start to the abort
    healed_after_s: float | None  # from the first fault's actual start to the last heal
    unhealed: tuple[str, ...]  # faults without an end or whose heal failed
    survivors: tuple[str, ...]  # processes of the run still alive after it exited
    output: str


def run_guarded(scenario: Path, out: Path, *extra: str, timeout_s: float = 180.0) -> GuardedRun:
    """`brownout run SCENARIO` with every process it starts noted while it runs, checked once it exited."""
    child = subprocess.Popen([sys.executable, "-m", "brownout", "run", str(scenario), "--out", str(out), *extra],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + timeout_s
    collector = _Collector(child.pid, seen)
    collector.start()
    output, _ = child.communicate(timeout=max(1.0, deadline - time.monotonic()))
    collector.stop()
    survivors = tuple(f"{p.pid} {' '.join(p.cmdline()[:4])}" for p in seen.values() if _alive(p))
    runs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    if not runs:
        raise RuntimeError(f"brownout run exited {child.returncode} without a results directory:\n{output[-2000:]}")
    results = max(runs, key=lambda p: p.stat().st_mtime)
    return _measured(child.returncode, results, survivors, output)


def _measured(code: int, results: Path, survivors: tuple[str, ...], output: str) -> GuardedRun:
    faults = read_faults(results)
    record = read_guard(results)
    abort = record.abort if record is not None else None
    first = min((f.actual_start for f in faults if f.actual_start is not None), default=None)
    ends = [f.actual_end for f in faults if f.actual_end is not None]
    unhealed = tuple(f.name for f in faults if f.outcome == "heal-failed" or (f.actual_start and f.actual_end is None))
    return GuardedRun(
        code, results, abort.message if abort else None,
        abort.at - first if abort and first is not None else None,
        max(ends) - first if ends and first is not None else None, unhealed, survivors, output,
    )  # fmt: skip


class _Collector:
    """Every 0.2 s, the processes under `brownout run` (Locust, its workers, the stack and its components)."""

    def __init__(self, pid: int, seen: dict[int, psutil.Process]) -> None:
        import threading

        self.pid, self.seen = pid, seen
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def _loop(self) -> None:
        while not self.done.is_set():
            try:
                for proc in psutil.Process(self.pid).children(recursive=True):
                    self.seen.setdefault(proc.pid, proc)
            except psutil.Error:
                pass
            self.done.wait(0.2)


def _alive(proc: psutil.Process) -> bool:
    # is_running() also checks the creation time: a pid reused by another process is not a survivor.
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def broken(count: int) -> int:
    """N runs of a service broken for good; returns how many met every aim."""
    good, latencies, heals = 0, [], []
    for number in range(1, count + 1):
        with tempfile.TemporaryDirectory(prefix="guards-broken-") as out:
            run = run_guarded(BROKEN, Path(out))
        ok = (run.code == 1 and run.abort_after_s is not None and run.abort_after_s <= _WINDOW_S + 2
              and not run.unhealed and not run.survivors)  # fmt: skip
        good += ok
        latencies.append(run.abort_after_s or float("nan"))
        heals.append(run.healed_after_s or float("nan"))
        after = run.abort_after_s or float("nan")
        healed = run.healed_after_s or float("nan")
        print(f"broken {number}: exit {run.code}, abort {after:.2f} s after the kill, healed {healed:.2f} s after, "
              f"unhealed {list(run.unhealed)}, survivors {list(run.survivors)}: {'ok' if ok else 'MISSED'} "
              f"({run.abort_line})", flush=True)  # fmt: skip
    print(f"broken: {good} of {count} aborted within {_WINDOW_S + 2:g} s, healed, 0 processes left; abort after "
          f"{min(latencies):.2f}-{max(latencies):.2f} s, healed after {min(heals):.2f}-{max(heals):.2f} s; "
          f"load average {_load()}", flush=True)  # fmt: skip
    return good


def healthy(count: int) -> int:
    """N runs of ci.toml plus a sensible guard; returns how many were aborted."""
    aborted = 0
    with tempfile.TemporaryDirectory(prefix="guards-healthy-") as work:
        scenario = Path(work) / "ci-guarded.toml"
        text = (ROOT / "scenarios/ci.toml").read_text().replace("../targets/", f"{ROOT}/targets/")  # from elsewhere
        scenario.write_text(text + HEALTHY_GUARD)
        for number in range(1, count + 1):
            out = Path(work) / f"run-{number}"
            out.mkdir()
            run = run_guarded(scenario, out)
            aborted += run.abort_line is not None
            print(f"healthy {number}: exit {run.code}, {run.abort_line or 'not aborted'}, "
                  f"survivors {list(run.survivors)}", flush=True)  # fmt: skip
    print(f"healthy ci + guard: {aborted} of {count} aborted; load average {_load()}", flush=True)
    return aborted


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_guards", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=("broken", "healthy", "both"), default="both")
    parser.add_argument("-n", type=int, default=10)
    args = parser.parse_args(argv if argv is not None else ([] if __name__ != "__main__" else None))
    if args.what in ("broken", "both"):
        broken(args.n)
    if args.what in ("healthy", "both"):
        healthy(args.n)


if __name__ == "__main__":
    main()
