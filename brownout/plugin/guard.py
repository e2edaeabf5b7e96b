"""Live guards and the kill switch: is the service hurt beyond what the scenario's `[guard]` allows?

`find_breach` is the decision, a pure function of timeline rows (the ones the history gets) and the fault
windows, tested with literal rows. `GuardMonitor` is the thin live part the test run's tick loop feeds and
asks once a second; it also watches the kill switch's file and the wall clock. What a breach does (heal
every fault, stop the load) is the test run's business (`TestRun.abort`).

Rows reach the master (or local runner) `lag_s` late, so the window judged is the one ending `lag_s` ago:
a local run sees a breach about 1 s after the window shows it, a distributed one about 7 s after.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from brownout.faults.scheduler import FaultStatus
from brownout.history import Abort, LatencyHistogram, TimelineRow
from brownout.history.guard import BY_GUARD, BY_KILL_SWITCH
from brownout.inputs import format_duration
from brownout.scenario.guard import Guard

log = logging.getLogger("brownout.plugin")


@dataclass(frozen=True)
class FaultSpan:
    """A fault window as the guards see it: from its actual start until it is healed (inf while in force)."""

    name: str
    start: float
    end: float = math.inf

    def overlaps(self, start: float, end: float) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Breach:
    by: str  # BY_GUARD or BY_KILL_SWITCH
    what: str  # the guard field, or "file" / "SIGUSR1"
    reason: str
    value: float | None = None
    limit: float | None = None

    def at(self, now: float, started_at: float, in_force: tuple[str, ...]) -> Abort:
        return Abort(self.by, self.what, self.reason, now, now - started_at, self.value, self.limit, in_force)


def spans_of(statuses: Iterable[FaultStatus]) -> tuple[FaultSpan, ...]:
    """Every fault that has started, manual ones too, with its end once healed."""
    return tuple(
        FaultSpan(s.name, s.actual_start, math.inf if s.actual_end is None else s.actual_end)
        for s in statuses
        if s.actual_start is not None
    )


def find_breach(
    guard: Guard, rows: Iterable[TimelineRow], spans: Sequence[FaultSpan], *, until: float, bucket_s: float
) -> Breach | None:
    """The first limit breached over the window ending at `until`, or None. A bucket touching any fault
    window counts as during that fault; every other bucket as outside."""
    inside: list[TimelineRow] = []
    outside: list[TimelineRow] = []
    touched: set[str] = set()
    for row in rows:
        if not until - guard.window <= row.t < until:
            continue
        hit = [span.name for span in spans if span.overlaps(row.t, row.t + bucket_s)]
        (inside if hit else outside).append(row)
        touched.update(hit)
    return (
        _error_ratio_breach(guard, outside)
        or _p95_breach(guard, outside)
        or _availability_breach(guard, inside, sorted(touched))
    )


def _counts(rows: Sequence[TimelineRow]) -> tuple[int, int]:
    """(all requests, failed ones)"""
    return sum(r.ok + r.degraded + r.failed for r in rows), sum(r.failed for r in rows)


def _seconds(span: float) -> str:
    """"10 s", as the abort line reads."""
    return f"{span:g} s"


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.0f} %"


def _error_ratio_breach(guard: Guard, rows: Sequence[TimelineRow]) -> Breach | None:
    total, failed = _counts(rows)
    limit = guard.error_ratio_max
    if limit is None or total < guard.min_requests or failed / total <= limit:
        return None
    ratio = failed / total
    reason = f"error ratio {_percent(ratio)} over {_seconds(guard.window)} (limit {_percent(limit)})"
    return Breach(BY_GUARD, "error_ratio_max", reason, ratio, limit)


def _p95_breach(guard: Guard, rows: Sequence[TimelineRow]) -> Breach | None:
    limit = guard.p95_ms_max
    if limit is None or _counts(rows)[0] < guard.min_requests:
        return None
    p95 = LatencyHistogram.merged(row.hist for row in rows).percentile(0.95)
    if p95 is None or p95 <= limit:
        return None
    reason = f"p95 {p95:g} ms over {_seconds(guard.window)} (limit {limit:g} ms)"
    return Breach(BY_GUARD, "p95_ms_max", reason, float(p95), limit)


def _availability_breach(guard: Guard, rows: Sequence[TimelineRow], faults: list[str]) -> Breach | None:
    total, failed = _counts(rows)
    floor = guard.availability_min_during_fault
    if floor is None or total < guard.min_requests or (total - failed) / total >= floor:
        return None
    availability = (total - failed) / total
    during = ", ".join(repr(name) for name in faults)
    reason = (f"availability {_percent(availability)} during fault {during} over {_seconds(guard.window)} "
              f"(floor {_percent(floor)})")  # fmt: skip
    return Breach(BY_GUARD, "availability_min_during_fault", reason, availability, floor)


class GuardMonitor:
    """The rows of the last window, the kill switch's file and the wall clock, asked once a second."""

    def __init__(self, guard: Guard, *, started_at: float, bucket_s: float, kill_switch: Path | None) -> None:
        self.guard = guard
        self.started_at = started_at
        self.bucket_s = bucket_s
        self.kill_switch = kill_switch
        self._rows: list[TimelineRow] = []
        # A file already there when the test starts is no signal; creating it, or touching it again, is.
        self._switch_at_start = _stamp(kill_switch)

    def add(self, rows: Iterable[TimelineRow]) -> None:
        if self.guard.configured:
            self._rows.extend(rows)

    def check(self, now: float, until: float, spans: Sequence[FaultSpan]) -> Breach | None:
        """`until`: the end of the window whose rows are all in (now minus the master's lag)."""
        stamp = _stamp(self.kill_switch)
        if stamp is not None and stamp != self._switch_at_start:
            return Breach(BY_KILL_SWITCH, "file", f"{self.kill_switch} touched")
        limit = self.guard.max_duration
        ran = now - self.started_at
        if limit is not None and ran >= limit:
            reason = f"the test ran {format_duration(round(ran))} (max_duration {format_duration(limit)})"
            return Breach(BY_GUARD, "max_duration", reason, ran, limit)
        if not self.guard.configured:
            return None
        self._rows = [row for row in self._rows if row.t >= until - self.guard.window]
        return find_breach(self.guard, self._rows, spans, until=until, bucket_s=self.bucket_s)


def kill_switch_file(options: object) -> Path | None:
    """--brownout-abort-on's file, absolute (Locust may change directory), or None."""
    name = getattr(options, "brownout_abort_on", "") or ""
    return Path(name).resolve() if name else None


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns


def pull_on_sigusr1(pull: Callable[[Breach], None]) -> None:
    """SIGUSR1 to the Locust process (or to `brownout run`, which passes it on) is the kill switch too.
    The gevent handler runs `pull` in a greenlet of its own, never inside whatever the signal interrupted."""
    import gevent

    def on_signal() -> None:
        log.warning("brownout: SIGUSR1: kill switch pulled")
        pull(Breach(BY_KILL_SWITCH, "SIGUSR1", "SIGUSR1"))

    gevent.signal_handler(signal.SIGUSR1, on_signal)
