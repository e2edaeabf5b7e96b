"""The master's (or local runner's) side of the plugin: the stack, the fault scheduler and the history.

`RunSession` lives as long as the Locust process: it starts the stack (when no `--host` is given) and
stops it when Locust quits. Each test run started in it (headless: one; web UI: one per Start) is a
`TestRun` with its own results directory, writers and scheduler, so a second run never mixes its history
into the first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from locust.env import Environment

from brownout.errors import InputError
from brownout.faults.drivers import build_drivers
from brownout.faults.journal import FaultJournal
from brownout.faults.preflight import preflight
from brownout.faults.scheduler import FaultScheduler
from brownout.faults.selection import choose_faults
from brownout.history.run_ids import new_run_id
from brownout.plugin.books import Books
from brownout.plugin.guard import Breach
from brownout.plugin.plans import option_keys
from brownout.plugin.shape import ScenarioShape
from brownout.plugin.target import Target, own_target, stack_target, start_stack
from brownout.plugin.testrun import TestRun
from brownout.scenario.schema import FaultSpec, Scenario, load_scenario
from brownout.scenario.shipped import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from brownout.stack.stack import Stack

log = logging.getLogger("brownout.plugin")

_SETTLE_TIMEOUT_S = 60.0


class RunSession:
    def __init__(
        self, environment: Environment, books: Books, scenario: Scenario, out: Path, target: Target,
        stack: Stack | None, *, web_ui: bool = False,
    ) -> None:  # fmt: skip
        self.environment = environment
        self.books = books
        self.scenario = scenario
        self.out = out
        self.target = target
        self.stack = stack
        self.web_ui = web_ui  # with the web UI, each test is a complete run: own Locust CSVs, own report
        self.current: TestRun | None = None
        self.tests: list[TestRun] = []  # every test of this session, oldest first
        self._chosen: tuple[FaultSpec, ...] | None = None  # the start form's choice, when it made one

    @classmethod
    def open(cls, environment: Environment, books: Books, *, web_ui: bool = False) -> RunSession:
        options = environment.parsed_options
        scenario = load_scenario(_option(options, "brownout_scenario") or DEFAULT_SCENARIO)
        out = Path(_option(options, "brownout_out") or Path("results") / new_run_id()).resolve()
        out.mkdir(parents=True, exist_ok=True)
        _apply_user_mix(environment, scenario)
        _apply_shape(environment, scenario)
        stack = None
        if not environment.host and scenario.stack is not None:
            stack = start_stack(scenario, out, _option(options, "brownout_ports") or "ephemeral")
        try:
            host = environment.host or ""
            target = stack_target(scenario, stack) if stack is not None else own_target(scenario, host)
            session = cls(environment, books, scenario, out, target, stack, web_ui=web_ui)
            session._check_before_load()
        except BaseException:
            if stack is not None:
                stack.stop()
            raise
        environment.host = target.host
        log.info("brownout: load on %s, results in %s", target.host, out)
        return session

    def _check_before_load(self) -> None:
        """A fault nothing can drive, or a pre-flight problem: say so now. Headless, only the faults this run
        fires count (`--host` with `--no-faults` needs no fault proxy); the start form can pick any of them."""
        options, scenario, target = self.environment.parsed_options, self.scenario, self.target
        chosen = self.planned_faults()
        drivable = chosen if _option(options, "headless") else scenario.faults
        try:
            build_drivers(list(drivable), target.endpoints)
        except InputError as exc:
            raise InputError(f"{scenario.path}: {exc}") from None
        # Called before `environment.host` is set to the target's: a host there came from --host.
        host_field = "--host" if self.environment.host else ("[target] host" if scenario.target else "[stack] entry")
        preflight(scenario, chosen, target.endpoints, host=target.host, host_field=host_field,
                  from_target=self.stack is None)  # fmt: skip

    def on_test_start(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current.settled.wait(_SETTLE_TIMEOUT_S)
        number = len(self.tests) + 1
        out = self.out if number == 1 else self.out.with_name(f"{self.out.name}-{number}")
        self.current = TestRun.begin(
            self.environment, self.books, self.scenario, self.target, out, self._scheduler(out),
            number=number, complete=self.web_ui,
        )  # fmt: skip
        self.tests.append(self.current)

    def wait_until_settled(self, timeout_s: float) -> bool:
        """Before a new test: the last one's faults healed and its counts saved (True), or still busy."""
        return self.current is None or self.current.settled.wait(timeout_s)

    def on_test_stop(self) -> None:
        """Heal and write up in the background: Locust's quit goes on meanwhile and brings the workers' last
        reports, which the write-up waits for."""
        if self.current is not None:
            self.current.stop()

    def close(self) -> None:
        """At Locust's `quit` (after its runner has quit): finish the write-up, then stop the stack."""
        try:
            if self.current is not None:
                self.current.stop()
                self.current.join()
        finally:
            if self.stack is not None:
                self.stack.stop()
                self.stack = None

    def pull_kill_switch(self, breach: Breach) -> None:
        """SIGUSR1: the test in progress heals and stops (the web UI stays up for the next)."""
        run = self.current
        if run is None or run.finished:
            log.warning("brownout: kill switch pulled with no test in progress: nothing to stop")
            return
        run.stop_early(breach)

    def choose_next(self, chosen: tuple[FaultSpec, ...]) -> None:
        """The start form's choice: the faults the next test fires, whatever the command line said."""
        self._chosen = chosen

    def fires_no_faults(self) -> bool:
        return self._chosen == ()

    def planned_faults(self) -> tuple[FaultSpec, ...]:
        """The scenario's faults the next test fires: the start form's choice, else the command line's
        (--brownout-no-faults, --brownout-faults, --no-brownout-fault-<name>). InputError for a name the
        scenario does not have."""
        if self._chosen is not None:
            return self._chosen
        options = self.environment.parsed_options
        keys = option_keys(self.scenario.faults)
        off = {name for name, key in keys.items() if getattr(options, key, True) is False}
        return choose_faults(self.scenario, _option(options, "brownout_faults") or "",
                             none=bool(_option(options, "brownout_no_faults")), off=off)  # fmt: skip

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


def _option(options: Any, name: str) -> Any:
    """A Locust option, or None where the parser has none (an embedding program's own Environment)."""
    return getattr(options, name, None)


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
