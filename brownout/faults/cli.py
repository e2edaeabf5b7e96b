"""`brownout faults run SCENARIO`: a scenario's fault schedule alone, for load driven some other way.

    brownout stack up --run-dir results/stack &
    brownout faults run scenarios/default.toml --stack-run-dir results/stack --out results/my-run

    brownout heal results/latest   # after a run was killed outright: heal what it left in force

Faults with `when_users` fire at the time the scenario's load shape reaches that many users (nothing
reports a user count here). SIGINT / SIGTERM heal everything at once; the journal says `aborted`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from brownout.arguments import Parser, writable_dir
from brownout.errors import FaultError, InputError
from brownout.faults.endpoints import (
    NO_ENDPOINTS,
    Endpoints,
    endpoints_from_stack_json,
    endpoints_from_target,
)
from brownout.faults.journal import FaultJournal
from brownout.faults.scheduler import FaultScheduler, FaultStatus
from brownout.scenario.schema import Scenario, format_duration, load_scenario

DEFAULT_STACK_RUN_DIR = Path("results/stack")
_EXIT_ON_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="brownout faults", description="Run a scenario's fault schedule.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the [[faults]] of SCENARIO against a running stack or target")
    run.add_argument("scenario", type=Path, help="scenario file (TOML)")
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--stack-run-dir",
        type=Path,
        metavar="D",
        help=f"run dir of `brownout stack up --run-dir D` (default: {DEFAULT_STACK_RUN_DIR})",
    )
    where.add_argument(
        "--no-stack",
        action="store_true",
        help="no stack: only http/command faults, or the scenario's [target] endpoints",
    )
    run.add_argument(
        "--out", type=writable_dir, metavar="DIR", help="where to write faults.csv (default: results/faults-<time>)"
    )
    return parser


def _endpoints(args: argparse.Namespace, scenario: Scenario) -> Endpoints:
    if scenario.target is not None and args.stack_run_dir is None:
        return endpoints_from_target(scenario.target)
    if args.no_stack:
        return NO_ENDPOINTS
    return endpoints_from_stack_json(args.stack_run_dir or DEFAULT_STACK_RUN_DIR)


@contextmanager
def _signals_set(stop: threading.Event, received: list[int]) -> Iterator[None]:
    def _on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    previous = {signum: signal.signal(signum, _on_signal) for signum in _EXIT_ON_SIGNAL}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _report_changes(before: dict[str, str], statuses: list[FaultStatus], started: float) -> None:
    for status in statuses:
        if before.get(status.name) != status.state:
            before[status.name] = status.state
            offset = format_duration(max(0.0, time.time() - started))
            detail = f": {status.error}" if status.error else ""
            print(
                f"[+{offset}] {status.name} ({status.kind} on {status.target}): {status.state}{detail}",
                flush=True,
            )


def _run_schedule(scheduler: FaultScheduler, stop: threading.Event) -> None:
    """The schedule to its end (or until `stop`), each change of state printed; everything healed after."""
    states: dict[str, str] = {}
    started = time.time()
    scheduler.start()
    try:
        while not scheduler.wait(0.05):
            _report_changes(states, scheduler.snapshot(), started)
            if stop.wait(0.05):
                break
    finally:
        scheduler.heal_all()
    _report_changes(states, scheduler.snapshot(), started)


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    # No user count is reported here, so `when_users` faults fire when the load shape says it is reached.
    from brownout.faults.drivers import build_drivers  # after validation: bad input fails fast

    faults = tuple(f.with_start_at(f.planned_offset_s) if f.when_users is not None else f for f in scenario.faults)
    try:
        drivers = build_drivers(faults, _endpoints(args, scenario))
    except InputError as exc:
        raise InputError(f"{scenario.path}: {exc}") from None
    out = args.out or Path("results") / time.strftime("faults-%Y%m%d-%H%M%S")
    journal = FaultJournal(out)
    scheduler = FaultScheduler(faults, drivers, journal=journal)
    stop = threading.Event()
    received: list[int] = []
    last = max((f.planned_end_offset_s for f in faults), default=0.0)
    print(
        f"brownout faults: {len(faults)} fault(s) over {format_duration(last)}; journal {journal.path}",
        flush=True,
    )
    with _signals_set(stop, received):
        _run_schedule(scheduler, stop)
    if received:
        print(
            f"brownout faults: interrupted by {signal.Signals(received[0]).name}; healed everything, "
            f"journal {journal.path}",
            file=sys.stderr,
            flush=True,
        )
        return _EXIT_ON_SIGNAL[signal.Signals(received[0])]
    if scheduler.error:
        raise FaultError(f"{scheduler.error} (everything was healed; journal {journal.path})")
    print(f"brownout faults: done; journal {journal.path}", flush=True)
    return 0


def heal_main(argv: list[str]) -> int:
    """`brownout heal RESULTS_DIR`: 0 every fault left in force is healed (or none was), 1 one could not be."""
    parser = Parser(
        prog="brownout heal",
        description="Heal the faults a killed run left in force (its faults.csv and manifest.json say which and how).",
    )
    parser.add_argument("results_dir", type=Path, help="the results directory of the killed run (e.g. results/latest)")
    args = parser.parse_args(argv)
    if not args.results_dir.is_dir():
        raise InputError(f"{args.results_dir}: no such results directory")
    from brownout.faults.heal import heal_run  # the drivers and readers: only once the input is there

    healed = heal_run(args.results_dir, say=lambda line: print(f"brownout heal: {line}", flush=True))
    failed = [h for h in healed if not h.done]
    journal = args.results_dir / "faults.csv"
    if not healed:
        print(f"brownout heal: nothing left in force in {args.results_dir}")
    elif failed:
        print(f"brownout heal: {len(failed)} of {len(healed)} fault(s) could not be healed; run it again once "
              f"fixed ({journal} keeps them open)", file=sys.stderr)  # fmt: skip
    else:
        print(f"brownout heal: {len(healed)} fault(s) healed; marked in {journal}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    return 2
