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
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from brownout.arguments import Parser, existing_file, http_url, non_negative_int, port, writable_dir
from brownout.errors import InputError
from brownout.faults.heal import heal_previous
from brownout.faults.selection import choose_faults
from brownout.history.run_ids import new_run_id
from brownout.net.ports import free_port
from brownout.run.child_errors import ErrorTail
from brownout.scenario.schema import Scenario, load_scenario
from brownout.scenario.shipped import DEFAULT_LOCUSTFILE, DEFAULT_SCENARIO, scenario_file
from brownout.stack.layout import PortPolicy

# Loaded next to every locustfile: brownout's hooks and load shape, whatever the locustfile imports.
PLUGIN_LOCUSTFILE = Path(__file__).resolve().parents[1] / "plugin" / "brownout_locustfile.py"
_VERDICTS = {0: "every check passed", 1: "a check failed", 2: "the verdict is unknown: evidence is missing"}


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="brownout run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenario", nargs="?", default=str(DEFAULT_SCENARIO),
        help="scenario TOML file, or the name of a shipped one (default, ci, smoke); default: default",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=non_negative_int, default=0, help="Locust worker processes (distributed mode)"
    )
    parser.add_argument("--ui", action="store_true", help="open Locust's web UI instead of running headless")
    parser.add_argument("--out", type=writable_dir, default="results", help="parent directory of results/<run-id>/")
    parser.add_argument(
        "--host", type=http_url, help="run against this service instead of starting the scenario's stack"
    )
    parser.add_argument("--locustfile", type=existing_file, help="override the scenario's locustfile")
    parser.add_argument("--faults", metavar="NAMES", help="only these of the scenario's faults (comma-separated)")
    parser.add_argument("--no-faults", action="store_true", help="run the load without any fault")
    parser.add_argument("--no-report", action="store_true", help="skip the report after the run")
    parser.add_argument("--release", metavar="LABEL", help="release label recorded in the manifest (brownout store)")
    parser.add_argument(
        "--store", metavar="STORE", help="a run store: the report places this run against its last releases"
    )
    parser.add_argument(
        "--strict", action="store_true", help="refuse (exit 2) a scenario that leaves too little time to see a recovery"
    )
    parser.add_argument(
        "--abort-on", metavar="FILE",
        help="kill switch: creating or touching FILE (or SIGUSR1 to this process) heals every fault and stops",
    )  # fmt: skip
    parser.add_argument("--web-port", type=port, default=8089, help="Locust web UI port (with --ui)")
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
    release: str | None = None,
    store: str | None = None,
) -> list[str]:
    argv = [
        sys.executable, "-m", "locust", "-f", f"{locustfile},{PLUGIN_LOCUSTFILE}",
        "--brownout-scenario", str(scenario.path), "--brownout-out", str(results_dir),
    ]  # fmt: skip
    argv += _mode_arguments(results_dir, ui=ui, web_port=web_port, workers=workers)
    if host:
        argv += ["--host", host]
    if faults:
        argv += ["--brownout-faults", faults]
    if no_faults:
        argv += ["--brownout-no-faults"]
    if ports != "ephemeral":
        argv += ["--brownout-ports", ports]
    if release:
        argv += ["--brownout-release", release]
    if store:
        argv += ["--brownout-store", str(Path(store).resolve())]
    return argv


def _mode_arguments(results_dir: Path, *, ui: bool, web_port: int, workers: int) -> list[str]:
    """Web UI or headless, and Locust's distributed mode on loopback when there are workers."""
    # The plugin writes each test's Locust CSVs itself (the web UI's tests each into their own directory,
    # and a local run's after its last request), except on a headless master: Locust's writer there.
    if ui:
        argv = ["--web-host", "127.0.0.1", "--web-port", str(web_port)]
    else:
        argv = ["--headless", "--only-summary", "--brownout-progress", "5"]
        if workers > 0:
            argv += ["--csv", str(results_dir / "locust"), "--csv-full-history"]
    if workers > 0:
        # Master and workers talk over loopback, on a port of this run's own: Locust's defaults would
        # listen on every interface, and at 5557 a second run on the machine could not start.
        master_port = str(free_port())
        argv += ["--processes", str(workers), "--master-bind-host", "127.0.0.1", "--master-bind-port", master_port]
        argv += ["--master-host", "127.0.0.1", "--master-port", master_port]
    return argv


def _link_latest(parent: Path, name: str | None) -> str | None:
    """Point `parent/latest` at `name` (None: remove it); answer what it pointed at before."""
    latest = parent / "latest"
    try:
        previous = os.readlink(latest) if latest.is_symlink() else None
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        if name is not None:
            latest.symlink_to(name)
        return previous
    except OSError:
        return None  # a convenience only; the run's own directory is what matters


def _forget_empty_run(results_dir: Path, previous_latest: str | None) -> None:
    """No test ran and nothing was written (a pre-flight refusal, a web UI nobody started): leave no empty
    run directory behind and `latest` where it was, so `brownout report results/latest` still reads the
    last real run."""
    try:
        results_dir.rmdir()  # only if empty: a stack that started leaves its logs, worth keeping
    except OSError:
        return
    _link_latest(results_dir.parent, previous_latest)


def _run_locust(argv: list[str]) -> tuple[int, str]:
    """Locust's exit code and its last error message (its stderr passes through unchanged)."""
    child = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, errors="replace")
    assert child.stderr is not None
    errors = ErrorTail(child.stderr)

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    # Ctrl-C reaches Locust directly (same process group); we wait for it to heal and write its files.
    # SIGUSR1 is the kill switch: the plugin heals and stops the test.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait(), errors.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _test_runs(results_dir: Path) -> list[Path]:
    """The results directories the plugin wrote: one per test started (the web UI can start several)."""
    later = sorted(results_dir.parent.glob(f"{results_dir.name}-*"), key=lambda p: int(p.name.rsplit("-", 1)[1]))
    return [d for d in (results_dir, *later) if (d / "manifest.json").exists()]


def _report(runs: list[Path]) -> int:
    from brownout.report import cli as report

    codes = [int(report.main([str(run)])) for run in runs]
    return 1 if 1 in codes else max(codes)  # a failed run outranks one whose verdict is unknown (2)


def _check_room(scenario: Scenario, *, strict: bool) -> None:
    from brownout.scenario.room import room_warnings

    warnings = room_warnings(scenario)
    if warnings and strict:
        raise InputError("--strict: " + "\n".join(warnings))
    for warning in warnings:
        print(f"brownout run: warning: {warning}", file=sys.stderr)


def locustfile_for(scenario: Scenario, override: str | None) -> Path:
    """--locustfile (from the current directory), else the scenario's `[load] locustfile` (from the
    scenario file's folder), else the sample's."""
    if override:
        path = Path(override).resolve()
        if not path.is_file():
            raise InputError(f"--locustfile {override}: no such file")
        return path
    if not scenario.load.locustfile:
        return DEFAULT_LOCUSTFILE
    path = (scenario.path.parent / scenario.load.locustfile).resolve()
    if not path.is_file():
        raise InputError(
            f"{scenario.path}: [load] locustfile: no such file {path} (a relative path starts at the scenario's folder)"
        )
    return path


def main(argv: Sequence[str]) -> int:
    """The exit code is brownout's verdict (Locust's own, 1 whenever a request failed, is not shown)."""
    code, meaning = _main(argv)
    print(f"brownout run: exit code {code} ({meaning})", flush=True)
    return code


def _main(argv: Sequence[str]) -> tuple[int, str]:
    args = _parser().parse_args(list(argv))
    # A previous run killed outright may have left faults in force: a run on top of them judges nothing.
    heal_previous(Path(args.out).resolve(), say=lambda line: print(f"brownout run: {line}", flush=True))
    scenario = load_scenario(scenario_file(args.scenario))
    _check_room(scenario, strict=args.strict)
    ports = str(PortPolicy.parse(args.ports))
    choose_faults(scenario, args.faults or "", option="--faults")  # a name the scenario lacks: say so now
    locustfile = locustfile_for(scenario, args.locustfile)
    results_dir = Path(args.out).resolve() / new_run_id()
    results_dir.mkdir(parents=True)
    previous_latest = _link_latest(results_dir.parent, results_dir.name)
    print(f"brownout run: {scenario.path} -> {results_dir}", flush=True)
    command = locust_command(
        scenario, results_dir, locustfile=locustfile, workers=args.workers, ui=args.ui, host=args.host,
        web_port=args.web_port, faults=args.faults, no_faults=args.no_faults, ports=ports,
        release=args.release, store=args.store,
    )  # fmt: skip
    command += ["--brownout-abort-on", str(Path(args.abort_on).resolve())] if args.abort_on else []
    code, locust_error = _run_locust(command)
    runs = _test_runs(results_dir)
    if runs and code not in (0, 1):  # 1 is Locust's "there were failed requests": expected under faults
        print(f"brownout run: locust exited with {code}; results so far in {results_dir}", file=sys.stderr)
    if not runs:
        _forget_empty_run(results_dir, previous_latest)
        return _no_test(code, locust_error, ui=args.ui)
    if args.no_report:
        print("results: " + ", ".join(str(run) for run in runs))
        _say_aborts(runs)
        return 0, "results written, not judged (--no-report)"
    verdict = _report(runs)
    _say_aborts(runs)
    return verdict, _VERDICTS.get(verdict, "interrupted")


def _no_test(code: int, locust_error: str | None, *, ui: bool) -> tuple[int, str]:
    """The exit code and its meaning when Locust ran no test at all."""
    print("brownout run: no test was run, so there is nothing to report", file=sys.stderr)
    if code == 0 and ui:
        return 0, "no test was started in the web UI"
    if locust_error:  # the reason is the last thing printed
        print(f"brownout run: locust could not run: {locust_error}", file=sys.stderr)
        return 2, f"the run could not happen: {locust_error}"
    if code < 0:  # killed by a signal before its handlers were in place: it printed nothing
        return 2, f"the run could not happen: locust was ended by {signal.Signals(-code).name} before any test ran"
    return 2, "the run could not happen (see the error above)"


def _say_aborts(runs: list[Path]) -> None:
    """A test stopped by a guard or the kill switch: say why among the closing lines (guard.json has it)."""
    from brownout.history import read_guard

    for run in runs:
        record = read_guard(run)
        if record is not None and record.abort is not None:
            print(f"brownout run: {run.name}: {record.abort.message}", flush=True)
