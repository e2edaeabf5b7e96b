"""The master's (or local runner's) side of the plugin: the stack, the fault scheduler and the history.

`RunSession` lives as long as the Locust process: it starts the stack (when no `--host` is given) and
stops it when Locust quits. Each test run started in it (headless: one; web UI: one per Start) is a
`TestRun` with its own results directory, writers and scheduler, so a second run never mixes its history
into the first.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from locust.env import Environment

from brownout.errors import InputError
from brownout.faults.drivers import build_drivers
from brownout.faults.endpoints import (
    NO_ENDPOINTS,
    Endpoints,
    endpoints_from_description,
    endpoints_from_target,
)
from brownout.faults.journal import FaultJournal
from brownout.faults.scheduler import FaultScheduler
from brownout.plugin.shape import ScenarioShape
from brownout.plugin.testrun import TestRun
from brownout.scenario import REPO_ROOT, FaultSpec, Scenario, load_scenario

if TYPE_CHECKING:
    from brownout.plugin.hooks import _Books
    from brownout.stack import Stack

log = logging.getLogger("brownout.plugin")

DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "default.toml"


@dataclass(frozen=True)
class Target:
    """Where the load goes and how the drivers and the audit reach the target."""

    name: str  # how telemetry.csv names it: the stack's entry component, or "target"
    host: str
    endpoints: Endpoints
    audit_url: str | None  # base URL of the admin API that answers /admin/audit
    ready_url: str | None  # polled before the audit, after the faults are healed


class RunSession:
    def __init__(
        self, environment: Environment, books: _Books, scenario: Scenario, out: Path, target: Target,
        stack: Stack | None,
    ) -> None:  # fmt: skip
        self.environment = environment
        self.books = books
        self.scenario = scenario
        self.out = out
        self.target = target
        self.stack = stack
        self.run: TestRun | None = None
        self.runs = 0

    @classmethod
    def open(cls, environment: Environment, books: _Books) -> RunSession:
        options = environment.parsed_options
        scenario = load_scenario(getattr(options, "brownout_scenario", "") or DEFAULT_SCENARIO)
        out = Path(getattr(options, "brownout_out", "") or _default_out()).resolve()
        out.mkdir(parents=True, exist_ok=True)
        _apply_user_mix(environment, scenario)
        _apply_shape(environment, scenario)
        stack = None
        if not environment.host and scenario.stack is not None:
            stack = _start_stack(scenario, out, getattr(options, "brownout_ports", "") or "ephemeral")
        try:
            target = _target(environment, scenario, stack)
            select_faults(scenario, getattr(environment.parsed_options, "brownout_faults", "") or "")
            build_drivers(list(scenario.faults), target.endpoints)  # a fault nothing can drive: say so now
        except BaseException:
            if stack is not None:
                stack.stop()
            raise
        environment.host = target.host
        log.info("brownout: load on %s, results in %s", target.host, out)
        return cls(environment, books, scenario, out, target, stack)

    def on_test_start(self) -> None:
        if self.run is not None:
            self.run.stop()
            self.run.join()
        self.runs += 1
        out = self.out if self.runs == 1 else self.out.with_name(f"{self.out.name}-{self.runs}")
        self.run = TestRun.begin(self, out, self._scheduler(out))

    def on_test_stop(self) -> None:
        """Heal and write up in the background: Locust's quit goes on meanwhile and brings the workers' last
        reports, which the write-up waits for."""
        if self.run is not None:
            self.run.stop()

    def close(self) -> None:
        """At Locust's `quit` (after its runner has quit): finish the write-up, then stop the stack."""
        try:
            if self.run is not None:
                self.run.stop()
                self.run.join()
        finally:
            if self.stack is not None:
                self.stack.stop()
                self.stack = None

    def planned_faults(self) -> tuple[FaultSpec, ...]:
        """The scenario's faults this run fires: none with --brownout-no-faults, else those named in
        --brownout-faults (all when empty). InputError for a name the scenario does not have."""
        options = self.environment.parsed_options
        if getattr(options, "brownout_no_faults", False):
            return ()
        return select_faults(self.scenario, getattr(options, "brownout_faults", "") or "")

    def _scheduler(self, out: Path) -> FaultScheduler | None:
        try:
            faults = self.planned_faults()
        except InputError as exc:  # only from the web UI's start form: the command line was checked at open
            log.error("brownout: %s; this run has no scheduled faults", exc)
            return None
        if not faults:
            return None
        drivers = build_drivers(list(faults), self.target.endpoints)
        return FaultScheduler(faults, drivers, journal=FaultJournal(out))

    def scenario_document(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.scenario.text)
        except tomllib.TOMLDecodeError:
            return {}


def select_faults(scenario: Scenario, names: str) -> tuple[FaultSpec, ...]:
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if not wanted:
        return scenario.faults
    known = [fault.name for fault in scenario.faults]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise InputError(
            f"--brownout-faults: {', '.join(unknown)} not in {scenario.path} (its faults: {', '.join(known) or 'none'})"
        )
    return tuple(fault for fault in scenario.faults if fault.name in wanted)


def _default_out() -> Path:
    from brownout.run import new_run_id

    return Path("results") / new_run_id()


def _apply_user_mix(environment: Environment, scenario: Scenario) -> None:
    mix = dict(scenario.load.user_mix)
    if not mix:
        return
    known = {cls.__name__ for cls in environment.user_classes}
    unknown = sorted(set(mix) - known)
    if unknown:
        raise InputError(
            f"{scenario.path}: [load] users: no user class {', '.join(unknown)} in the locustfile "
            f"(it has: {', '.join(sorted(known))})"
        )
    for user_class in environment.user_classes:
        user_class.weight = mix.get(user_class.__name__, 0)
    environment.user_classes[:] = [cls for cls in environment.user_classes if cls.weight > 0]


def _apply_shape(environment: Environment, scenario: Scenario) -> None:
    if isinstance(environment.shape_class, ScenarioShape):
        environment.shape_class.load = scenario.load


def _start_stack(scenario: Scenario, out: Path, ports: str) -> Stack:
    from brownout.stack import Stack

    assert scenario.stack is not None
    return Stack.start(scenario.stack.path, out / "stack", ports=ports)


def _target(environment: Environment, scenario: Scenario, stack: Stack | None) -> Target:
    if stack is not None:
        description = stack.describe()
        endpoints = endpoints_from_description(description, source=f"the stack in {stack.run_dir}")
        host = stack.url(stack.spec.entry)
        return Target(stack.spec.entry, host, endpoints, endpoints.admin_for(stack.spec.entry), f"{host}/readyz")
    host = environment.host or (scenario.target.host if scenario.target else "")
    if not host:
        raise InputError(f"{scenario.path}: no [stack] or [target] host, and no --host given: nothing to load")
    endpoints = endpoints_from_target(scenario.target, scenario.path) if scenario.target else NO_ENDPOINTS
    return Target("target", host.rstrip("/"), endpoints, endpoints.admin_url, f"{host.rstrip('/')}/readyz")
