"""The fault scheduler: fires each fault at its time (or when the load reaches its user count), heals it
at its end, and heals everything on stop, interrupt, driver error or exception.

Plain threads, time.monotonic and Event waits, so the same code runs in a plain process and inside a
gevent-monkey-patched Locust process (where the threads become greenlets). Each fault gets its own
worker for inject and then heal, so a slow driver (a restart waiting for readiness) delays nothing else.
Clock, wall clock and sleep can be injected (tenacity style); with `inline=True` actions run in the
calling thread, which makes the scheduler a pure state machine for unit tests.

    scheduler = FaultScheduler(scenario.faults, build_drivers(scenario.faults, endpoints),
                               journal=FaultJournal(results_dir))
    scheduler.start()              # at test start
    scheduler.on_user_count(40)    # whenever the user count changes
    scheduler.heal_all()           # at stop / Ctrl-C / SIGTERM / exception: heals what is in force
    scheduler.inject_now(spec, driver); scheduler.heal_now(spec.name)   # by hand (the web UI)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from brownout.faults.drivers.base import Driver
from brownout.faults.journal import FaultJournal
from brownout.faults.kinds import base_fault_name, params_as_dict
from brownout.faults.lanes import Lane, close_and_join
from brownout.history import FaultRow
from brownout.scenario.schema import FaultSpec

log = logging.getLogger("brownout.faults")

PENDING, INJECTING, ACTIVE = "pending", "injecting", "active"
HEALING, HEALED, FAILED = "healing", "healed", "failed"
_IN_FORCE = (INJECTING, ACTIVE, HEALING)


@dataclass(frozen=True)
class FaultStatus:
    """One fault as a web UI or a log line shows it; times are epoch seconds, None if not (yet) happened."""

    name: str
    target: str
    kind: str
    state: str  # pending / injecting / active / healing / healed / failed
    planned_start: float | None
    planned_end: float | None
    actual_start: float | None
    actual_end: float | None
    outcome: str  # final, or what it would be if the run stopped now
    error: str


class _Track:
    """The mutable record of one fault; only touched under the scheduler's lock."""

    def __init__(self, spec: FaultSpec, driver: Driver) -> None:
        self.spec = spec
        self.driver = driver
        self.state = PENDING
        self.due: float | None = None  # monotonic time to inject
        self.heal_due: float | None = None
        self.planned_start: float | None = None
        self.actual_start: float | None = None
        self.actual_end: float | None = None
        self.outcome: str | None = None
        self.error = ""
        self.aborted = False
        self.lane: Lane | None = None
        self.manual = False  # added by hand during the run: no planned end, its failures abort nothing
        self.evidence: dict[str, Any] = {}  # what the driver saw at inject and heal (faults.csv `evidence`)

    def provisional_outcome(self) -> str:
        if self.outcome:
            return self.outcome
        return "skipped" if self.state == PENDING else "aborted"


class FaultScheduler:
    def __init__(
        self,
        faults: Sequence[FaultSpec],
        drivers: Mapping[str, Driver],
        *,
        journal: FaultJournal | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        inline: bool = False,
        stop_on_error: bool = True,
        max_idle_s: float = 0.5,
    ) -> None:
        missing = [fault.name for fault in faults if fault.name not in drivers]
        if missing:
            raise ValueError(f"no driver for fault(s) {missing}")
        # A repeated fault is one track per window (`name`, `name#2`, ...), all driven by its one driver.
        self._tracks = [_Track(window, drivers[fault.name]) for fault in faults for window in fault.windows()]
        self._journal = journal
        if journal is not None:
            journal.attach(self.rows)
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep or self._wait_for_wakeup
        self._inline = inline
        self._stop_on_error = stop_on_error
        self._max_idle_s = max_idle_s
        self._lock = threading.RLock()
        self._wakeup = threading.Event()
        self._done = threading.Event()
        self._stopping = False
        self._started_mono: float | None = None
        self._started_wall: float | None = None
        self._users = 0
        self._thread: threading.Thread | None = None
        self.error: str | None = None  # the first driver failure, if any

    # --- public API ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the clock (test start) and, unless inline, the scheduling thread."""
        with self._lock:
            if self._started_mono is not None:
                return
            self._started_mono, self._started_wall = self._clock(), self._wall()
            for track in self._tracks:
                spec = track.spec
                track.planned_start = self._started_wall + spec.planned_offset_s
                if spec.at_s is not None:
                    track.due = self._started_mono + spec.at_s
            self._fire_user_triggers()
        if self._journal is not None:
            self._journal.flush()
        if not self._inline:
            if self._journal is not None:
                self._journal.start_writer()
            # The windows of a repeated fault share a lane: one window's heal runs before the next's inject.
            lanes: dict[str, Lane] = {}
            for track in self._tracks:
                base = base_fault_name(track.spec.name)
                if base not in lanes:
                    lanes[base] = Lane(base)
                    lanes[base].start()
                track.lane = lanes[base]
            self._thread = threading.Thread(target=self._loop, name="brownout-faults", daemon=True)
            self._thread.start()

    def on_user_count(self, users: int) -> None:
        """The load now runs `users` users: due faults with `when_users <= users` fire now."""
        with self._lock:
            self._users = max(self._users, users)
            if self._started_mono is not None:
                self._fire_user_triggers()
        self._wakeup.set()

    def run_due(self) -> float | None:
        """Do whatever is due now; returns seconds until the next planned action (None: nothing planned)."""
        work: list[Callable[[], None]] = []
        with self._lock:
            if self._started_mono is None:
                return None
            now = self._clock()
            for track in self._tracks:
                due, heal_due = track.due, track.heal_due
                if track.state == PENDING and due is not None and due <= now and not self._stopping:
                    work.append(self._dispatch(track, "inject"))
                elif track.state in (INJECTING, ACTIVE) and heal_due is not None and heal_due <= now:
                    work.append(self._dispatch(track, "heal"))
        for item in work:
            item()
        if work:
            self._write_journal()
        with self._lock:
            settled = self._all_settled()
            upcoming = self._upcoming()
            delay = max(0.0, min(upcoming) - self._clock()) if upcoming else None
        if settled and not self._done.is_set():
            self._close_lanes(timeout_s=5)
            self._close_journal()  # complete on disk before anyone is told the schedule is over
            self._done.set()
        return delay

    def _upcoming(self) -> list[float]:
        times = [t.heal_due for t in self._tracks if t.state in (INJECTING, ACTIVE) and t.heal_due is not None]
        if not self._stopping:
            times += [t.due for t in self._tracks if t.state == PENDING and t.due is not None]
        return times

    def run_until_done(self, timeout_s: float | None = None) -> bool:
        """Drive the schedule in this thread (with the injected sleep) until every fault is settled."""
        deadline = None if timeout_s is None else self._clock() + timeout_s
        while not self._done.is_set():
            delay = self.run_due()
            if self._done.is_set():
                break
            if deadline is not None and self._clock() >= deadline:
                return False
            self._sleep(self._max_idle_s if delay is None else min(delay, self._max_idle_s))
        return True

    def wait(self, timeout_s: float | None = None) -> bool:
        """True once every fault is healed, failed or skipped."""
        return self._done.wait(timeout_s)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def heal_all(self, timeout_s: float = 60.0, reason: str = "") -> None:
        """Stop firing and heal everything injected (or being injected); never raises for a heal failure.

        Faults not started become `skipped`; faults in force are healed now and become `aborted`
        (or `heal-failed`); `reason` (a guard's abort line) goes into their journal rows' error. Waits up to
        `timeout_s` for the heals to finish.
        """
        self._begin_abort(reason)
        self._close_lanes(timeout_s)
        with self._lock:
            for track in self._tracks:
                if track.state in _IN_FORCE and not track.outcome:
                    track.outcome = "heal-failed"
                    track.error = track.error or f"heal did not finish within {timeout_s:g}s"
                    track.state = FAILED
        self._close_journal()
        self._done.set()
        self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def inject_now(self, fault: FaultSpec, driver: Driver) -> None:
        """Add a fault by hand and inject it at once (on its own worker); it stays in force until
        `heal_now(fault.name)` or `heal_all`, and is journaled like any other.

        A manual fault that fails does not abort the schedule (unlike a scheduled one). Raises
        RuntimeError before `start` or once stopping, ValueError for a name already used or a target
        that already has a fault in force (one target takes one fault at a time).
        """
        with self._lock:
            if self._started_mono is None:
                raise RuntimeError("the fault schedule has not started")
            if self._stopping:
                raise RuntimeError("the fault schedule is stopping: no new faults")
            if any(track.spec.name == fault.name for track in self._tracks):
                raise ValueError(f"there is already a fault named {fault.name!r}")
            busy = [t.spec.name for t in self._tracks if t.spec.target == fault.target and t.state in _IN_FORCE]
            if busy:
                raise ValueError(f"target {fault.target!r} already has a fault in force ({busy[0]}): heal it first")
            track = _Track(fault, driver)
            track.manual = True
            track.planned_start = self._wall()
            track.state = INJECTING
            if not self._inline:
                track.lane = Lane(fault.name)
                track.lane.start()
            self._tracks.append(track)
            work = self._worker_for(track, self._inject)
        self._write_journal()
        work()

    def heal_now(self, name: str) -> None:
        """Heal one active fault (manual or scheduled) now; LookupError for an unknown name,
        RuntimeError when it is not active."""
        with self._lock:
            track = next((t for t in self._tracks if t.spec.name == name), None)
            if track is None:
                raise LookupError(f"no fault named {name!r}")
            if track.state != ACTIVE:
                raise RuntimeError(f"fault {name!r} is {track.state}, not active: nothing to heal")
            work = self._dispatch(track, "heal")
        work()

    def snapshot(self) -> list[FaultStatus]:
        with self._lock:
            return [self._status(track) for track in self._tracks]

    def rows(self) -> list[FaultRow]:
        with self._lock:
            return [self._row(track) for track in self._tracks]

    # --- internals ----------------------------------------------------------------------------------
    def _wait_for_wakeup(self, seconds: float) -> None:
        self._wakeup.wait(seconds)
        self._wakeup.clear()

    def _loop(self) -> None:
        try:
            self.run_until_done()
        except BaseException as exc:  # a bug here must still heal what is in force
            log.exception("fault scheduler crashed; healing everything")
            self.error = self.error or f"fault scheduler crashed: {exc!r}"
            self._begin_abort()

    def _fire_user_triggers(self) -> None:
        now, wall = self._clock(), self._wall()
        for track in self._tracks:
            when = track.spec.when_users
            if track.state == PENDING and track.due is None and when is not None and self._users >= when:
                track.due = now + track.spec.lag_s
                track.planned_start = wall + track.spec.lag_s

    def _all_settled(self) -> bool:
        if any(track.state in _IN_FORCE for track in self._tracks):
            return False
        # Faults waiting for a user count that never comes are not "settled" until the run stops.
        return self._stopping or all(track.state != PENDING for track in self._tracks)

    def _dispatch(self, track: _Track, action: str) -> Callable[[], None]:
        """Under the lock: move the state; returns the driver call to make once the lock is released."""
        if action == "inject":
            track.state = INJECTING
            track.heal_due = self._clock() + track.spec.duration_s
            return self._worker_for(track, self._inject)
        track.state = HEALING
        track.heal_due = None
        return self._worker_for(track, self._heal)

    def _worker_for(self, track: _Track, action: Callable[[_Track], None]) -> Callable[[], None]:
        lane = track.lane
        if lane is None:  # inline, or never started
            return lambda: action(track)
        return lambda: lane.submit(lambda: action(track))

    def _inject(self, track: _Track) -> None:
        with self._lock:
            track.actual_start = self._wall()
        try:
            found = track.driver.inject()
        except Exception as exc:  # every driver failure is journaled, then everything is healed
            log.error("fault %s: inject failed: %s", track.spec.name, exc)
            with self._lock:
                track.outcome, track.error = "inject-failed", str(exc)
            self._safe_heal(track)  # undo whatever part of the inject took effect
            with self._lock:
                track.state, track.actual_end = FAILED, self._wall()
            self._note_failure(str(exc), scheduled=not track.manual)
            return
        with self._lock:
            track.evidence.update(found or {})
            if track.state == INJECTING:
                track.state = ACTIVE
            healing_now = self._stopping and track.state == ACTIVE
            if healing_now:
                track.state = HEALING
        self._write_journal()
        if healing_now:
            self._heal(track)

    def _safe_heal(self, track: _Track) -> str | None:
        try:
            found = track.driver.heal()
        except Exception as exc:
            log.error("fault %s: heal failed: %s", track.spec.name, exc)
            return str(exc)
        with self._lock:
            track.evidence.update(found or {})
        return None

    def _heal(self, track: _Track) -> None:
        failure = self._safe_heal(track)
        with self._lock:
            track.actual_end = self._wall()
            if failure is not None:
                track.state, track.outcome = FAILED, "heal-failed"
                track.error = failure if not track.aborted else f"aborted; {failure}"
            else:
                track.state, track.outcome = HEALED, ("aborted" if track.aborted else "healed")
        self._write_journal()
        if failure is not None:
            self._note_failure(failure, scheduled=not track.manual)
        self._wakeup.set()

    def _note_failure(self, message: str, scheduled: bool = True) -> None:
        self._write_journal()
        if not scheduled:  # a fault added by hand failed: its row says so; the schedule goes on
            self._wakeup.set()
            return
        with self._lock:
            self.error = self.error or message
        if self._stop_on_error:
            self._begin_abort()
        self._wakeup.set()

    def _begin_abort(self, reason: str = "") -> None:
        """Stop firing; heal everything in force (each on its own worker, after its inject)."""
        to_heal: list[_Track] = []
        work: list[Callable[[], None]] = []
        with self._lock:
            self._stopping = True
            for track in self._tracks:
                if track.state == PENDING:
                    track.state, track.outcome = FAILED, "skipped"
                    track.error = track.error or reason
                elif track.state in (INJECTING, ACTIVE):
                    track.aborted = True
                    track.error = track.error or reason
                    if track.state == ACTIVE:
                        to_heal.append(track)
                    # INJECTING: _inject sees _stopping when it returns and heals right away.
            work = [self._dispatch(track, "heal") for track in to_heal]
        for item in work:
            item()
        self._write_journal()
        self._wakeup.set()

    def _close_lanes(self, timeout_s: float) -> None:
        lanes = {id(track.lane): track.lane for track in self._tracks if track.lane is not None}
        close_and_join(list(lanes.values()), timeout_s)

    def _row(self, track: _Track) -> FaultRow:
        spec = track.spec
        start = track.planned_start
        return FaultRow(
            name=spec.name, target=spec.target, kind=spec.kind, params=params_as_dict(spec.params),
            planned_start=start,
            planned_end=None if start is None or track.manual else start + spec.duration_s,
            actual_start=track.actual_start, actual_end=track.actual_end,
            outcome=track.provisional_outcome(), error=track.error, evidence=dict(track.evidence),
        )  # fmt: skip

    def _status(self, track: _Track) -> FaultStatus:
        row = self._row(track)
        return FaultStatus(
            name=row.name,
            target=row.target,
            kind=row.kind,
            state=track.state,
            planned_start=row.planned_start,
            planned_end=row.planned_end,
            actual_start=row.actual_start,
            actual_end=row.actual_end,
            outcome=row.outcome,
            error=row.error,
        )

    def _write_journal(self) -> None:
        if self._journal is not None:
            self._journal.changed()

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
