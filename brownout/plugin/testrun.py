"""One test run on the master / local runner: from test_start to test_stop, writing results/<run-id>/."""

from __future__ import annotations

import functools
import logging
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import gevent
import locust
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner

import brownout
from brownout.faults.scheduler import FaultScheduler
from brownout.history import (
    FaultsWriter,
    Manifest,
    TelemetryWriter,
    TimelineWriter,
    UsersRow,
    UsersWriter,
    write_integrity,
    write_manifest,
)
from brownout.plugin.integrity import audit
from brownout.plugin.progress import progress_line
from brownout.plugin.shape import ScenarioShape
from brownout.plugin.telemetry import MetricsScraper, is_service_metric
from brownout.shipped import source_checkout

if TYPE_CHECKING:
    from brownout.plugin.session import RunSession

log = logging.getLogger("brownout.plugin")

_TICK_S = 0.25
_WORKER_FINAL_WAIT_S = 15.0
_FINISH_TIMEOUT_S = 120.0


class TestRun:
    __test__ = False  # not a pytest class, whatever its name says

    def __init__(self, session: RunSession, out: Path, scheduler: FaultScheduler | None) -> None:
        self.session = session
        self.environment = session.environment
        self.books = session.books
        self.out = out
        self.scheduler = scheduler
        self.started_at = time.time()
        self.timeline = TimelineWriter(out)
        self.users = UsersWriter(out)
        self.telemetry = TelemetryWriter(out)
        self.scraper = MetricsScraper(
            f"{session.target.host}/metrics", session.target.name, self.telemetry, is_service_metric
        )
        # The master hears of a worker's requests only at its next report: wait that long before closing a bucket.
        distributed = isinstance(self.environment.runner, MasterRunner)
        self.lag_s = 2 * WORKER_REPORT_INTERVAL + 1.0 if distributed else 1.0
        self.greenlets: list[gevent.Greenlet] = []
        self.finisher: gevent.Greenlet | None = None

    @classmethod
    def begin(cls, session: RunSession, out: Path, scheduler: FaultScheduler | None) -> TestRun:
        out.mkdir(parents=True, exist_ok=True)
        session.books.final_reports.clear()
        run = cls(session, out, scheduler)
        run._write_manifest(ended_at=run.started_at)
        if scheduler is not None:
            scheduler.start()
        else:
            FaultsWriter(out).close()  # an empty journal (header only): "no faults" is a fact, not a gap
        run.greenlets = [gevent.spawn(run._tick_loop), gevent.spawn(run._scrape_loop)]
        return run

    def stop(self) -> None:
        """Start the write-up (heal, wait for the workers, flush, audit, close) in its own greenlet, once."""
        if self.finisher is None:
            self.finisher = gevent.spawn(self._finish)

    @property
    def finished(self) -> bool:
        """True once the test run has stopped (its write-up may still be going on)."""
        return self.finisher is not None

    def join(self, timeout_s: float = _FINISH_TIMEOUT_S) -> None:
        if self.finisher is not None:
            self.finisher.join(timeout=timeout_s)

    def _finish(self) -> None:
        gevent.killall(self.greenlets, block=True, timeout=2)
        steps = (self._heal, self._await_workers, self._flush_all, self._audit, self._close_writers)
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001  (a failing step must not stop the healing or the writing)
                log.exception("brownout: %s failed", step.__name__)
        self._write_manifest(ended_at=time.time())
        log.info("brownout: results in %s", self.out)

    # --- loops ---------------------------------------------------------------------------------------
    def _tick_loop(self) -> None:
        next_second = time.time()
        progress_every = getattr(self.environment.parsed_options, "brownout_progress", 0) or 0
        next_progress = time.time() + progress_every
        while True:
            now = time.time()
            self.books.timeline.flush(self.timeline, before=now - self.lag_s)
            if now >= next_second:
                next_second += 1.0
                self._record_users(now)
            if progress_every and now >= next_progress:
                next_progress += progress_every
                print(progress_line(self.environment, self.started_at, self.session.scenario,
                                    self.scheduler), file=sys.stderr, flush=True)
            gevent.sleep(_TICK_S)

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
        if self.scheduler is not None:
            self.scheduler.on_user_count(count)

    # --- finishing -----------------------------------------------------------------------------------
    def _heal(self) -> None:
        if self.scheduler is not None:
            self.scheduler.heal_all()

    def _await_workers(self) -> None:
        """The master's test_stop can fire before the workers' last reports arrive: wait for them (bounded)."""
        runner = self.environment.runner
        if not isinstance(runner, MasterRunner):
            return
        expected = set(runner.clients.keys())
        deadline = time.monotonic() + _WORKER_FINAL_WAIT_S
        while not expected <= self.books.final_reports and time.monotonic() < deadline:
            gevent.sleep(0.05)
        missing = expected - self.books.final_reports
        if missing:
            log.warning("brownout: no final report from worker(s) %s; their last requests are not in the timeline",
                        ", ".join(sorted(missing)))

    def _flush_all(self) -> None:
        self._record_users(time.time())
        self.books.timeline.flush(self.timeline)

    def _audit(self) -> None:
        write_integrity(self.out, audit(self.session.target.audit, self.books.ledger))

    def _close_writers(self) -> None:
        self.scraper.close()
        for writer in (self.timeline, self.users, self.telemetry):
            writer.close()

    def _write_manifest(self, ended_at: float) -> None:
        session = self.session
        manifest = Manifest(
            started_at=self.started_at, ended_at=ended_at, bucket_s=self.books.timeline.bucket_s,
            scenario=session.scenario_document(), scenario_text=session.scenario.text,
            brownout_version=brownout.__version__, locust_version=locust.__version__,
            python_version=platform.python_version(), git_rev=_git_rev(), command=list(sys.argv),
            host=session.target.host,
        )  # fmt: skip
        write_manifest(self.out, manifest)


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
