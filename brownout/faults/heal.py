"""Healing what a killed run left injected (`brownout heal RESULTS_DIR`, and `brownout run` before it starts).

A run killed outright (SIGKILL, a power cut) cannot heal its faults. Its faults.csv says which were in force:
an actual_start, no actual_end, outcome `aborted` (the journal rewrites the whole file at every change). The
manifest keeps the scenario's text, so the drivers are rebuilt from it and heal them; every driver's heal is
idempotent, so healing a fault that somebody already undid by hand is harmless.

A healed row keeps its outcome `aborted` (the run did not finish it) and gets the heal's time as its
actual_end and an `error` saying that `brownout heal` healed it, so a second heal finds nothing to do and
faults.csv keeps its format. A fault that cannot be healed keeps no actual_end, so the next heal tries again.

What dies with the process needs no heal: a run with a stack loses its stack (and the fault proxy with its
toxics, the components with their freezes) when killed, and a `db-lock` is a lock the process held. A mount
outlives it: the tmpfs a stack gave a component for a disk fault is unmounted here (brownout.stack.small_disk).
"""

from __future__ import annotations

import dataclasses
import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from brownout.errors import FaultError, InputError
from brownout.faults.endpoints import NO_ENDPOINTS, Endpoints, endpoints_from_target
from brownout.faults.journal import RUNNING_LOCK, FaultJournal
from brownout.faults.kinds import (
    AppParams,
    CommandParams,
    ComponentParams,
    FaultParams,
    HttpParams,
    NetworkParams,
    base_fault_name,
)
from brownout.history import FaultRow, Manifest, read_faults, read_manifest
from brownout.scenario.schema import FaultSpec, Scenario, parse_scenario

HEALED_NOTE = "in force when the run was killed; healed by `brownout heal` at"
_OWN_PROCESS_KINDS = ("db-lock",)  # a lock held by the killed process: released with it
_OUTSIDE_STACK_KINDS = ("http", "command")  # reach whatever they name, not the run's stack


@dataclass(frozen=True)
class Healed:
    """What `heal` did about one fault left in force: `done` healed (or nothing left to heal), else `error`."""

    fault: str
    kind: str
    target: str
    what: str
    error: str = ""
    acted: bool = True  # False: nothing was left to heal (it died with the run)

    @property
    def done(self) -> bool:
        return not self.error

    def line(self) -> str:
        said = f"could not heal: {self.error}" if self.error else f"healed: {self.what}" if self.acted else self.what
        return f"{self.fault} ({self.kind} on {self.target}): {said}"


def left_in_force(rows: list[FaultRow]) -> list[FaultRow]:
    """Rows of faults in force when the run's process died."""
    return [r for r in rows if r.actual_start is not None and r.actual_end is None and r.outcome == "aborted"]


@contextmanager
def not_running(results_dir: Path) -> Iterator[None]:
    """Hold the run's lock exclusively for the heal; InputError when a live process still journals the run."""
    path = results_dir / RUNNING_LOCK
    if not path.exists():
        yield  # a run from before the lock, or one that never journalled: nothing can be running it
        return
    with path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"{results_dir}: the run is still going (a live process journals its faults): it heals its own"
            ) from None
        yield


def heal_run(
    results_dir: Path, *, say: Callable[[str], None] = print, now: Callable[[], float] = time.time
) -> list[Healed]:
    """Heal every fault the run in `results_dir` left in force, mark them in faults.csv, say what was done."""
    with not_running(results_dir):
        unmount_leftovers(results_dir, say)
        rows = read_faults(results_dir)
        left = left_in_force(rows)
        if not left:
            return []
        scenario = scenario_of(results_dir, read_manifest(results_dir))
        endpoints = endpoints_from_target(scenario.target, "the run's scenario") if scenario.target else NO_ENDPOINTS
        healed = [heal_one(row, scenario, endpoints) for row in left]
        for outcome in healed:
            say(outcome.line())
        _mark(results_dir, rows, {h.fault: h for h in healed}, now())
        return healed


def unmount_leftovers(results_dir: Path, say: Callable[[str], None]) -> None:
    """The tmpfs a killed run's stack gave a component for a disk fault (with its ballast), unmounted."""
    from brownout.stack.small_disk import unmount_small_disks_under  # only a stack run can have one

    for data_dir in unmount_small_disks_under(results_dir):
        say(f"unmounted {data_dir}: the small data dir a disk fault had, left by a run that was killed")


def scenario_of(results_dir: Path, manifest: Manifest) -> Scenario:
    """The run's scenario from the manifest's copy, its relative paths read from where the scenario was."""
    if not manifest.scenario_text:
        raise InputError(f"{results_dir}/manifest.json: no scenario text kept: cannot tell how to heal its faults")
    command = manifest.command
    given = command[command.index("--brownout-scenario") + 1] if "--brownout-scenario" in command[:-1] else None
    return parse_scenario(manifest.scenario_text, given or results_dir / "manifest.json")


def heal_one(row: FaultRow, scenario: Scenario, endpoints: Endpoints) -> Healed:
    spec = next((f for f in scenario.faults if f.name == base_fault_name(row.name)), None)
    said = _said(row)
    if spec is None:
        return said("", f"not a fault of the run's scenario (added by hand?): heal {row.target} yourself")
    if spec.kind in _OWN_PROCESS_KINDS:
        return said("nothing to heal: the lock died with the process that held it", acted=False)
    if scenario.target is None and spec.kind not in _OUTSIDE_STACK_KINDS:
        return said("nothing to heal: it ended with the run's stack, which died with the run", acted=False)
    from brownout.faults.drivers import build_driver  # the drivers import requests: only when one is needed

    try:
        build_driver(spec, endpoints).heal()
    except (FaultError, InputError) as exc:
        return said("", str(exc))
    return said(_healing(spec))


def _said(row: FaultRow) -> Callable[..., Healed]:
    return lambda what, error="", acted=True: Healed(row.name, row.kind, row.target, what, error, acted)


def _healing(spec: FaultSpec) -> str:
    """What the driver's heal did, in words."""
    params: FaultParams = spec.params
    if isinstance(params, NetworkParams):
        if params.down:
            return f"re-enabled proxy {params.proxy!r}"
        return f"removed toxic 'brownout-{spec.name}' from proxy {params.proxy!r}"
    if isinstance(params, HttpParams):
        heal = params.heal
        return f"sent the heal request {heal.method} {heal.url}" if heal else "no heal request given: nothing to send"
    if isinstance(params, CommandParams):
        return f"ran the heal command {list(params.heal)}" if params.heal else "no heal command given: nothing to run"
    if isinstance(params, ComponentParams):
        return f"undid the {params.action} of {params.component!r} through the control API"
    if isinstance(params, AppParams):
        return f"removed the app fault on {params.dependency!r} through the admin API"
    return f"healed through its {spec.kind} driver"


def _mark(results_dir: Path, rows: list[FaultRow], healed: dict[str, Healed], at: float) -> None:
    """faults.csv rewritten whole, as the journal writes it: healed rows get the heal's time and a note."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
    left = left_in_force(rows)

    def marked(row: FaultRow) -> FaultRow:
        outcome = healed.get(row.name) if row in left else None
        if outcome is None:
            return row
        if outcome.done:
            return dataclasses.replace(row, actual_end=at, error=f"{HEALED_NOTE} {stamp}: {outcome.what}")
        return dataclasses.replace(row, error=f"`brownout heal` at {stamp} could not heal it: {outcome.error}")

    FaultJournal(results_dir).write([marked(row) for row in rows])


def heal_previous(parent: Path, *, say: Callable[[str], None] = print) -> None:
    """`brownout run` before anything else: the previous run under its --out (`latest`, and the web UI's later
    tests beside it) left faults in force against a service it did not start ([target]): heal them first.
    A run with a stack lost its stack-bound faults with it; its http/command faults are left to `brownout heal`.
    Never stops the new run: what cannot be healed is a warning naming the command to heal it by hand."""
    latest = parent / "latest"
    if not latest.is_dir():
        return
    run = latest.resolve()
    for results_dir in (run, *sorted(parent.glob(f"{run.name}-*"))):
        _heal_previous_one(results_dir, say)


def _heal_previous_one(results_dir: Path, say: Callable[[str], None]) -> None:
    unmount_leftovers(results_dir, say)
    try:
        manifest, left = read_manifest(results_dir), left_in_force(read_faults(results_dir))
    except InputError:
        return  # no journal to read: nothing brownout left in force there
    if not left or "target" not in manifest.scenario:
        return
    say(f"the previous run {results_dir} left {len(left)} fault(s) in force against its [target]; healing them first")
    try:
        failed = [h for h in heal_run(results_dir, say=say) if not h.done]
    except InputError as exc:
        say(f"warning: cannot heal them: {exc}; heal them with `brownout heal {results_dir}`")
        return
    if failed:
        say(f"warning: {len(failed)} fault(s) may still be in force: `brownout heal {results_dir}` once fixed")
