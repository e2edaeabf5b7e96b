"""`brownout run`: one scenario end to end: Locust (with the plugin, which starts the stack and the faults)
writes `results/<run-id>/`, then the report judges it and its exit code is ours.

Locust runs as a child process so that its gevent monkey-patching, its own signal handling and its
`--processes` forking stay Locust's business; this process only builds the command line, forwards
SIGTERM, and reports.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from brownout.errors import InputError
from brownout.scenario import REPO_ROOT, Scenario, load_scenario
from brownout.stack.layout import PortPolicy

DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "default.toml"
DEFAULT_LOCUSTFILE = REPO_ROOT / "locustfiles" / "recovery.py"


def new_run_id(now: float | None = None) -> str:
    """Sortable by time, unique per second and process: 20261128T121900Z-4821."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{os.getpid()}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brownout run", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default=str(DEFAULT_SCENARIO), help="scenario TOML file")
    parser.add_argument("--workers", type=int, default=0, help="Locust worker processes (distributed mode)")
    parser.add_argument("--ui", action="store_true", help="open Locust's web UI instead of running headless")
    parser.add_argument("--out", default="results", help="parent directory of results/<run-id>/")
    parser.add_argument("--host", help="run against this service instead of starting the scenario's stack")
    parser.add_argument("--locustfile", help="override the scenario's locustfile")
    parser.add_argument("--faults", metavar="NAMES", help="only these of the scenario's faults (comma-separated)")
    parser.add_argument("--no-faults", action="store_true", help="run the load without any fault")
    parser.add_argument("--no-report", action="store_true", help="skip the report after the run")
    parser.add_argument("--web-port", type=int, default=8089, help="Locust web UI port (with --ui)")
    parser.add_argument(
        "--ports", default="ephemeral", metavar="fixed|ephemeral|LOW-HIGH",
        help="the stack's ports: free ones (default), the stack file's, or free ones in the range LOW-HIGH",
    )  # fmt: skip
    return parser


def locust_command(
    scenario: Scenario,
    results_dir: Path,
    *,
    locustfile: Path,
    workers: int,
    ui: bool,
    host: str | None,
    web_port: int = 8089,
    faults: str | None = None,
    no_faults: bool = False,
    ports: str = "ephemeral",
) -> list[str]:
    argv = [
        sys.executable, "-m", "locust", "-f", str(locustfile),
        "--brownout-scenario", str(scenario.path), "--brownout-out", str(results_dir),
        "--csv", str(results_dir / "locust"), "--csv-full-history",
    ]  # fmt: skip
    if ui:
        argv += ["--web-host", "127.0.0.1", "--web-port", str(web_port)]
    else:
        argv += ["--headless", "--only-summary", "--brownout-progress", "5"]
    if workers > 0:
        argv += ["--processes", str(workers)]
    if host:
        argv += ["--host", host]
    if faults:
        argv += ["--brownout-faults", faults]
    if no_faults:
        argv += ["--brownout-no-faults"]
    if ports != "ephemeral":
        argv += ["--brownout-ports", ports]
    return argv


def _link_latest(results_dir: Path) -> None:
    latest = results_dir.parent / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(results_dir.name)
    except OSError:
        pass  # a convenience only; the run's own directory is what matters


def _run_locust(argv: list[str]) -> int:
    child = subprocess.Popen(argv)

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    # Ctrl-C reaches Locust directly (same process group); we wait for it to heal and write its files.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _test_runs(results_dir: Path) -> list[Path]:
    """The results directories the plugin wrote: one per test started (the web UI can start several)."""
    later = sorted(results_dir.parent.glob(f"{results_dir.name}-*"), key=lambda p: int(p.name.rsplit("-", 1)[1]))
    return [d for d in (results_dir, *later) if (d / "manifest.json").exists()]


def _report(runs: list[Path]) -> int:
    from brownout import report

    return max(int(report.main([str(run)])) for run in runs)


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    scenario = load_scenario(args.scenario)
    if args.workers < 0:
        raise InputError(f"--workers must be >= 0, got {args.workers}")
    ports = str(PortPolicy.parse(args.ports))
    locustfile = Path(args.locustfile or scenario.load.locustfile or DEFAULT_LOCUSTFILE)
    if not locustfile.is_file():
        raise InputError(f"locustfile {locustfile} does not exist")
    results_dir = Path(args.out).resolve() / new_run_id()
    results_dir.mkdir(parents=True)
    _link_latest(results_dir)
    print(f"brownout run: {scenario.path} -> {results_dir}", flush=True)
    command = locust_command(
        scenario, results_dir, locustfile=locustfile, workers=args.workers, ui=args.ui, host=args.host,
        web_port=args.web_port, faults=args.faults, no_faults=args.no_faults, ports=ports,
    )  # fmt: skip
    code = _run_locust(command)
    runs = _test_runs(results_dir)
    if code not in (0, 1):  # 1 is Locust's "there were failed requests": expected under faults
        print(f"brownout run: locust exited with {code}; results so far in {results_dir}", file=sys.stderr)
    if not runs:
        print("brownout run: no test was run, so there is nothing to report", file=sys.stderr)
        return 0 if code == 0 and args.ui else 2
    if args.no_report:
        print("results: " + ", ".join(str(run) for run in runs))
        return 0
    return _report(runs)
