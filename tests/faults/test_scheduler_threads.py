"""The scheduler on its own thread with the real clock (as in `brownout faults run` and in Locust)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from brownout.faults.journal import FaultJournal
from brownout.faults.scheduler import FaultScheduler
from brownout.history import read_faults
from tests.faults.support import RecordingDriver, fault
from tests.helpers import wait_until


class _SlowInject(RecordingDriver):
    """An inject that takes a while (like a restart waiting for readiness)."""

    def __init__(self, *args: object, release: threading.Event, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.release = release

    def inject(self) -> None:
        super().inject()
        self.release.wait(10)


def test_threaded_schedule_runs_to_completion(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    faults = [fault("a", at=0.0, duration=0.1), fault("b", at=0.05, duration=0.1)]
    drivers = {f.name: RecordingDriver(f.name, log) for f in faults}
    scheduler = FaultScheduler(faults, drivers, journal=FaultJournal(tmp_path))
    scheduler.start()
    try:
        assert scheduler.wait(10)
    finally:
        scheduler.heal_all()
    assert sorted((a, n) for a, n, _ in log) == [
        ("heal", "a"), ("heal", "b"), ("inject", "a"), ("inject", "b"),
    ]  # fmt: skip
    for name in ("a", "b"):
        inject = next(t for a, n, t in log if (a, n) == ("inject", name))
        heal = next(t for a, n, t in log if (a, n) == ("heal", name))
        assert heal > inject
    assert {row.outcome for row in read_faults(tmp_path)} == {"healed"}


def test_a_slow_inject_delays_no_other_fault_and_is_healed_after_it_returns(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    release = threading.Event()
    faults = [fault("slow", at=0.0, duration=30), fault("quick", at=0.0, duration=0.05)]
    drivers = {"slow": _SlowInject("slow", log, release=release), "quick": RecordingDriver("quick", log)}
    scheduler = FaultScheduler(faults, drivers, journal=FaultJournal(tmp_path))
    scheduler.start()
    try:
        wait_until(lambda: ("heal", "quick") in [(a, n) for a, n, _ in log], 10, 0.01)
        # quick went through its whole life while slow was still injecting
        assert ("heal", "quick") in [(a, n) for a, n, _ in log]
        assert ("heal", "slow") not in [(a, n) for a, n, _ in log]
        stopper = threading.Thread(target=scheduler.heal_all)
        stopper.start()
        time.sleep(0.05)
        assert ("heal", "slow") not in [(a, n) for a, n, _ in log]  # not before its inject returned
        release.set()
        stopper.join(10)
    finally:
        release.set()
        scheduler.heal_all()
    names = [(a, n) for a, n, _ in log]
    assert names.index(("heal", "slow")) > names.index(("inject", "slow"))
    assert {row.name: row.outcome for row in read_faults(tmp_path)} == {"slow": "aborted", "quick": "healed"}


def test_user_count_wakes_the_thread(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    # An idle tick of an hour: only the wake-up can get the fault going within the 10 s wait.
    scheduler = FaultScheduler(
        [fault("w", when_users=3, duration=0.05)], {"w": RecordingDriver("w", log)}, max_idle_s=3600.0
    )
    scheduler.start()
    try:
        scheduler.on_user_count(3)
        assert scheduler.wait(10)
    finally:
        scheduler.heal_all()
    assert [(a, n) for a, n, _ in log] == [("inject", "w"), ("heal", "w")]
