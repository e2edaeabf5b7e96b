"""One test run on the master / local runner: from test_start to test_stop, writing results/<run-id>/.

A test started from the web UI is a complete run of its own: besides the history it gets Locust's CSVs
(`locust_csv.py`) and, once written up, its report (`brownout report`, in a child process: analysis
never runs inside the run), while the web UI stays up for the next test.
"""

from __future__ import annotations

import functools
import logging
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import locust
from locust.env import Environment
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, Runner

from brownout.errors import InputError
from brownout.faults.journal import FaultJournal
from brownout.faults.scheduler import FaultScheduler
from brownout.history import (
    Abort,
    FaultsWriter,
    GuardRecord,
    Manifest,
    TelemetryWriter,
    TimelineWriter,
    UsersRow,
    UsersWriter,
    write_guard,
    write_integrity,
    write_manifest,
)
from brownout.inputs import loads_toml
from brownout.net.polling import wait_until
from brownout.plugin.books import Books
from brownout.plugin.guard import Breach, GuardMonitor, kill_switch_file, spans_of
from brownout.plugin.integrity import audit
from brownout.plugin.live import LiveSeries
from brownout.plugin.locust_csv import LocustCsv
from brownout.plugin.options import store_option
from brownout.plugin.progress import progress_line
from brownout.plugin.shape import ScenarioShape
from brownout.plugin.target import Target
from brownout.plugin.telemetry import MetricsScraper, is_service_metric
from brownout.scenario.schema import Scenario
from brownout.scenario.shipped import source_checkout
from brownout.version import __version__

log = logging.getLogger("brownout.plugin")

_TICK_S = 0.25
_WORKER_FINAL_WAIT_S = 15.0
_FINISH_TIMEOUT_S = 120.0
_REPORT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ReportOutcome:
    """What `brownout report` said about one test: exit code 0 passed, 1 failed, 2 could not judge."""

    code: int
    verdict: str  # "PASS" / "FAIL" / "UNKNOWN", or why there is none
    files: tuple[str, ...]  # the report files that exist in the results directory


class TestRun:
    __test__ = False  # not a pytest class, whatever its name says

    def __init__(
        self, environment: Environment, books: Books, scenario: Scenario, target: Target, out: Path,
        scheduler: FaultScheduler | None, *, number: int = 1, complete: bool = False,
    ) -> None:  # fmt: skip
        self.environment = environment
        self.books = books
        self.scenario = scenario
        self.target = target
        self.number = number
        self.out = out
        self.scheduler = scheduler
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self.ledger = books.begin_test()  # this test's acknowledgements only
        self.complete = complete  # a web UI test: own Locust CSVs and own report
        # Locust's own --csv writer rewrites its tables once a second and never after the last request, so a
        # request finishing on the stop path can be in the timeline and not in locust_stats.csv. The plugin
        # writes the tables itself once the test has stopped, from the same in-memory stats, except for a
        # headless master (`brownout run --workers`), whose workers' last stats arrive only when they quit.
        distributed = isinstance(self.environment.runner, MasterRunner)
        self.own_locust_csv = complete or not distributed
        self.locust_csv: LocustCsv | None = None
        self.settled = gevent.event.Event()  # healed and counted: the next test may start
        self.report: ReportOutcome | None = None
        self.series = LiveSeries()
        self.timeline = TimelineWriter(out)
        self.users = UsersWriter(out)
        self.telemetry = TelemetryWriter(out)
        self.scraper = MetricsScraper(
            f"{target.host}/metrics", target.name, self.telemetry, is_service_metric
        )
        # The master hears of a worker's requests only at its next report: wait that long before closing a bucket.
        self.lag_s = 2 * WORKER_REPORT_INTERVAL + 1.0 if distributed else 1.0
        self.greenlets: list[gevent.Greenlet] = []
        self.finisher: gevent.Greenlet | None = None
        self.kill_switch = kill_switch_file(environment.parsed_options)
        self.monitor = GuardMonitor(scenario.guard, started_at=self.started_at, bucket_s=books.timeline.bucket_s,
                                    kill_switch=self.kill_switch)  # fmt: skip
        self.abort: Abort | None = None  # why a guard or the kill switch stopped this test, if one did

    @classmethod
    def begin(
        cls, environment: Environment, books: Books, scenario: Scenario, target: Target, out: Path,
        scheduler: FaultScheduler | None, *, number: int = 1, complete: bool = False,
    ) -> TestRun:  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        run = cls(environment, books, scenario, target, out, scheduler, number=number, complete=complete)
        run._write_manifest(ended_at=run.started_at)
        run._write_guard()
        if run.own_locust_csv:
            run.locust_csv = LocustCsv(run.environment, out)
        if scheduler is not None:
            scheduler.start()
        else:
            FaultsWriter(out).close()  # an empty journal (header only): "no faults" is a fact, not a gap
        run.greenlets = [gevent.spawn(run._tick_loop), gevent.spawn(run._scrape_loop)]
        return run

    def manual_scheduler(self) -> FaultScheduler:
        """The scheduler that faults injected by hand go through: the run's own, or for a run without
        scheduled faults (none planned, or --brownout-no-faults) an empty one, started now, so that manual
        faults are journalled and healed at the end like any other."""
        if self.scheduler is None:
            self.scheduler = FaultScheduler((), {}, journal=FaultJournal(self.out))
            self.scheduler.start()
        return self.scheduler

    def stop(self) -> None:
        """Start the write-up (heal, wait for the workers, flush, audit, close) in its own greenlet, once."""
        if self.finisher is None:
            self.stopped_at = time.time()
            self.finisher = gevent.spawn(self._finish)

    @property
    def finished(self) -> bool:
        """True once the test run has stopped (its write-up may still be going on)."""
        return self.finisher is not None

    @property
    def written_up(self) -> bool:
        """True once the results directory is complete (and, for a web UI test, its report written)."""
        return self.finisher is not None and self.finisher.ready()

    def join(self, timeout_s: float = _FINISH_TIMEOUT_S) -> None:
        if self.finisher is not None:
            self.finisher.join(timeout=timeout_s)

    def _finish(self) -> None:
        gevent.killall(self.greenlets, block=True, timeout=2)
        try:
            self._run_steps(self._heal, self._await_workers, self._flush_all, self._save_locust_csv)
        finally:
            self.settled.set()
        self._run_steps(self._audit, self._close_writers)
        self._write_manifest(ended_at=time.time())
        log.info("brownout: results in %s", self.out)
        if self.complete:
            self.report = write_report(self.out)
            log.info("brownout: test %d: verdict %s, report in %s", self.number, self.report.verdict,
                     self.out / "report.html")  # fmt: skip

    @staticmethod
    def _run_steps(*steps: Callable[[], None]) -> None:
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001  (a failing step must not stop the healing or the writing)
                log.exception("brownout: %s failed", step.__name__)

    # --- loops ---------------------------------------------------------------------------------------
    def _tick_loop(self) -> None:
        next_second = time.time()
        progress_every = getattr(self.environment.parsed_options, "brownout_progress", 0) or 0
        next_progress = time.time() + progress_every
        while True:
            now = time.time()
            self.monitor.add(self.books.timeline.flush_rows(self.timeline, before=now - self.lag_s))
            if now >= next_second:
                next_second += 1.0
                self._record_users(now)
                self._check_guards(now)
            if progress_every and now >= next_progress:
                next_progress += progress_every
                print(progress_line(self.environment, self.started_at, self.scenario,
                                    self.scheduler), file=sys.stderr, flush=True)
            gevent.sleep(_TICK_S)

    def _check_guards(self, now: float) -> None:
        spans = spans_of(self.scheduler.snapshot()) if self.scheduler is not None else ()
        breach = self.monitor.check(now, now - self.lag_s, spans)
        if breach is not None:
            self.stop_early(breach)

    # --- guards and the kill switch ------------------------------------------------------------------
    def stop_early(self, breach: Breach) -> None:
        """A guard breached or the kill switch pulled: heal every fault in force at once, then stop the load
        (its test_stop writes the run up as on a normal end). Once per test; nothing once it has stopped."""
        if self.abort is not None or self.finisher is not None:
            return
        in_force = tuple(s.name for s in self.scheduler.snapshot() if s.state in ("injecting", "active", "healing")) \
            if self.scheduler is not None else ()  # fmt: skip
        self.abort = breach.at(time.time(), self.started_at, in_force)
        log.error("brownout: %s; healing %s, then stopping the test", self.abort.message,
                  ", ".join(in_force) or "(no fault in force)")  # fmt: skip
        self._write_guard()
        # Not in self.greenlets: stopping the runner ends this test, whose write-up kills those.
        gevent.spawn(self._heal_then_stop, self.environment.runner)

    def _heal_then_stop(self, runner: Runner | None) -> None:
        self._run_steps(self._heal)
        if runner is None:
            return
        if self.complete:  # the web UI: this test ends, the UI stays up for the next
            runner.stop()
            return
        # Headless: the path of Ctrl-C / SIGTERM (hooks.py): quit; test_stop writes up, quit stops the stack.
        self.environment.process_exit_code = 1
        runner.quit()

    def _write_guard(self) -> None:
        limits = self.scenario.guard.to_json()
        switch = str(self.kill_switch) if self.kill_switch is not None else None
        write_guard(self.out, GuardRecord(limits, switch, self.abort))

    def _scrape_loop(self) -> None:
        while True:
            started = time.time()
            self.scraper.scrape(started)
            gevent.sleep(max(0.0, 1.0 - (time.time() - started)))

    def _record_users(self, now: float) -> None:
        runner = self.environment.runner
        count = runner.user_count if runner is not None else 0
        shape = self.environment.shape_class
        step = shape.current_step if isinstance(shape, ScenarioShape) else 0
        self.users.append(UsersRow(now, count, step))
        self.users.flush()
        if self.complete and runner is not None and self.finisher is None:
            self.series.sample(now - self.started_at, runner.stats.total, count, step)
        if self.scheduler is not None:
            self.scheduler.on_user_count(count)

    # --- finishing -----------------------------------------------------------------------------------
    def _heal(self) -> None:
        if self.scheduler is not None:
            self.scheduler.heal_all(reason=self.abort.message if self.abort is not None else "")

    def _await_workers(self) -> None:
        """The master's test_stop can fire before the workers' last reports arrive: wait for them (bounded)."""
        runner = self.environment.runner
        if not isinstance(runner, MasterRunner):
            return
        expected = set(runner.clients.keys())
        wait_until(lambda: expected <= self.books.final_reports, within_s=_WORKER_FINAL_WAIT_S, every_s=0.05,
                   sleep=gevent.sleep)  # fmt: skip
        missing = expected - self.books.final_reports
        if missing:
            log.warning("brownout: no final report from worker(s) %s; their last requests are not in the timeline",
                        ", ".join(sorted(missing)))

    def _flush_all(self) -> None:
        self._record_users(time.time())
        self.books.timeline.flush(self.timeline)

    def _save_locust_csv(self) -> None:
        if self.locust_csv is not None:
            self.locust_csv.finish()

    def _audit(self) -> None:
        write_integrity(self.out, audit(self.target.audit, self.ledger))

    def _close_writers(self) -> None:
        self.scraper.close()
        for writer in (self.timeline, self.users, self.telemetry):
            writer.close()

    def _write_manifest(self, ended_at: float) -> None:
        manifest = Manifest(
            started_at=self.started_at, ended_at=ended_at, bucket_s=self.books.timeline.bucket_s,
            scenario=_document(self.scenario), scenario_text=self.scenario.text,
            brownout_version=__version__, locust_version=locust.__version__,
            python_version=platform.python_version(), git_rev=_git_rev(), command=list(sys.argv),
            host=self.target.host,
            release=str(getattr(self.environment.parsed_options, "brownout_release", "") or ""),
            store=store_option(self.environment.parsed_options),
        )  # fmt: skip
        write_manifest(self.out, manifest)


def write_report(out: Path) -> ReportOutcome:
    """`brownout report` on a finished results directory, in a child process (gevent waits cooperatively)."""
    command = [sys.executable, "-m", "brownout", "report", str(out), "--quiet"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_REPORT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.error("brownout: report of %s failed: %s", out, exc)
        return ReportOutcome(2, f"no report: {exc}", ())
    lines = [line for line in done.stdout.splitlines() if line.startswith("verdict: ")]
    verdict = lines[-1].removeprefix("verdict: ") if lines else f"no verdict: {_last_line(done.stderr)}"
    if done.returncode not in (0, 1):
        log.error("brownout: report of %s exited %d: %s", out, done.returncode, done.stderr.strip()[-500:])
    files = tuple(name for name in REPORT_FILES if (out / name).is_file())
    return ReportOutcome(done.returncode, verdict, files)


REPORT_FILES = ("report.html", "report.md", "junit.xml", "verdict.json")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "brownout report said nothing"


def _document(scenario: Scenario) -> dict[str, Any]:
    """The scenario as the manifest keeps it (its text was read once already; {} if it cannot be again)."""
    try:
        return loads_toml(scenario.text, scenario.path)
    except InputError:
        return {}


@functools.cache
def _git_rev() -> str:
    """brownout's own revision when it runs from a checkout; "" when installed (the report then omits it)."""
    checkout = source_checkout()
    if checkout is None:
        return ""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True, timeout=5, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()
