"""The master's (or local runner's) side of the plugin: the stack, the fault scheduler and the history.

`RunSession` lives as long as the Locust process: it starts the stack (when no `--host` is given) and
stops it when Locust quits. Each test run started in it (headless: one; web UI: one per Start) is a
`TestRun` with its own results directory, writers and scheduler, so a second run never mixes its history
into the first.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, replace
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
from brownout.faults.preflight import preflight
from brownout.faults.scheduler import FaultScheduler
from brownout.faults.selection import select_faults
from brownout.history.run_ids import new_run_id
from brownout.plugin.integrity import AuditPlan, audit_plan
from brownout.plugin.shape import ScenarioShape
from brownout.plugin.testrun import TestRun
from brownout.scenario.schema import REPO_ROOT, FaultSpec, Scenario, load_scenario

if TYPE_CHECKING:
    from brownout.plugin.hooks import _Books
    from brownout.stack import Stack

log = logging.getLogger("brownout.plugin")

DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "default.toml"
_SETTLE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Target:
    """Where the load goes and how the drivers and the audit reach the target."""

    name: str  # how telemetry.csv names it: the stack's entry component, or "target"
    host: str
    endpoints: Endpoints
    audit: AuditPlan  # how acknowledged writes are read back after the heal


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
        self.tests: list[TestRun] = []  # every test of this session, oldest first
        self.web_ui = False  # set when the web UI is attached: each test is then a complete run
        self.chosen: tuple[FaultSpec, ...] | None = None  # the start form's choice, when it made one

    @property
    def runs(self) -> int:
        return len(self.tests)

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
        host_field = "--host" if environment.host else ("[target] host" if scenario.target else "[stack] entry")
        try:
            target = _target(environment, scenario, stack)
            chosen = select_faults(scenario, getattr(options, "brownout_faults", "") or "")
            if getattr(options, "brownout_no_faults", False):
                chosen = ()
            # A fault nothing can drive: say so now. Headless, only those this run fires (`--host` with
            # `--no-faults` needs no fault proxy); the web UI's start form can pick any of them.
            drivable = chosen if getattr(options, "headless", False) else scenario.faults
            try:
                build_drivers(list(drivable), target.endpoints)
            except InputError as exc:
                raise InputError(f"{scenario.path}: {exc}") from None
            preflight(scenario, chosen, target.endpoints, host=target.host, host_field=host_field,
                      from_target=stack is None)  # fmt: skip
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
            self.run.settled.wait(_SETTLE_TIMEOUT_S)
        number = self.runs + 1
        out = self.out if number == 1 else self.out.with_name(f"{self.out.name}-{number}")
        self.run = TestRun.begin(self, out, self._scheduler(out), number)
        self.tests.append(self.run)

    def wait_until_settled(self, timeout_s: float) -> bool:
        """Before a new test: the last one's faults healed and its counts saved (True), or still busy."""
        return self.run is None or self.run.settled.wait(timeout_s)

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
        if self.chosen is not None:
            return self.chosen
        from brownout.plugin.plans import option_keys

        options = self.environment.parsed_options
        if getattr(options, "brownout_no_faults", False):
            return ()
        names = getattr(options, "brownout_faults", "") or ""
        if names:
            return select_faults(self.scenario, names)
        keys = option_keys(self.scenario.faults)  # --no-brownout-fault-<name> turns one off
        return tuple(f for f in self.scenario.faults if getattr(options, keys[f.name], True) is not False)

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


def _default_out() -> Path:
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
        entry_ready = getattr(stack.spec.component(stack.spec.entry), "ready", None)
        plan = audit_plan(scenario.audit, host, endpoints.admin_for(stack.spec.entry), endpoints.admin_token,
                          entry_ready if isinstance(entry_ready, str) else None)  # fmt: skip
        return Target(stack.spec.entry, host, endpoints, plan)
    host = (environment.host or (scenario.target.host if scenario.target else "")).rstrip("/")
    if not host:
        raise InputError(f"{scenario.path}: no [stack] or [target] host, and no --host given: nothing to load")
    if scenario.target:
        endpoints = endpoints_from_target(scenario.target, scenario.path)
    elif scenario.stack is not None:  # a stack scenario run with --host
        endpoints = replace(NO_ENDPOINTS, source="--host was given, so the scenario's [stack] was not started")
    else:
        endpoints = NO_ENDPOINTS
    plan = audit_plan(scenario.audit, host, endpoints.admin_url, endpoints.admin_token)
    return Target("target", host, endpoints, plan)
