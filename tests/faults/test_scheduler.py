"""The scheduler as a state machine: an injected clock and sleep, actions run inline (no threads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.faults.journal import FaultJournal
from brownout.faults.scheduler import FaultScheduler
from brownout.history import read_faults
from tests.faults.support import FakeClock, RecordingDriver, fault

Log = list[tuple[str, str, float]]


def _scheduler(
    faults: list,
    clock: FakeClock,
    log: Log,
    tmp_path: Path | None = None,
    failing_inject: tuple[str, ...] = (),
    failing_heal: tuple[str, ...] = (),
    **kwargs: object,
) -> FaultScheduler:
    drivers = {
        f.name: RecordingDriver(
            f.name, log, clock, fail_inject=f.name in failing_inject, fail_heal=f.name in failing_heal
        )
        for f in faults
    }
    journal = FaultJournal(tmp_path) if tmp_path else None
    return FaultScheduler(
        faults, drivers, journal=journal, clock=clock, wall_clock=clock.wall, sleep=clock.sleep, inline=True, **kwargs
    )  # type: ignore[arg-type]


def test_faults_fire_in_planned_order_and_heal_at_their_end(tmp_path: Path) -> None:
    clock, log = FakeClock(), []
    faults = [fault("late", at=30, duration=5), fault("early", at=10, duration=30), fault("mid", at=20)]
    scheduler = _scheduler(faults, clock, log, tmp_path)
    scheduler.start()
    t0 = clock.now
    assert scheduler.run_until_done(timeout_s=600)
    assert [(action, name) for action, name, _ in log] == [
        ("inject", "early"), ("inject", "mid"), ("inject", "late"), ("heal", "mid"), ("heal", "late"),
        ("heal", "early"),
    ]  # fmt: skip
    times = {(action, name): t - t0 for action, name, t in log}
    # the fake sleep wakes at the planned moment (or at most one idle tick later)
    assert times[("inject", "early")] == pytest.approx(10, abs=0.51)
    assert times[("heal", "early")] == pytest.approx(40, abs=1.1)
    rows = {row.name: row for row in read_faults(tmp_path)}
    assert {row.outcome for row in rows.values()} == {"healed"}
    early = rows["early"]
    assert early.planned_start == pytest.approx(clock.wall() - clock.now + t0 + 10)
    assert early.planned_end == pytest.approx(early.planned_start + 30)
    assert early.actual_start is not None and early.actual_end is not None
    assert early.actual_end - early.actual_start == pytest.approx(30, abs=1.1)


def test_when_users_fires_only_once_the_load_reaches_its_step() -> None:
    clock, log = FakeClock(), []
    scheduler = _scheduler([fault("at-40", when_users=40, duration=5, planned=60)], clock, log)
    scheduler.start()
    for users in (10, 20, 39):
        scheduler.on_user_count(users)
        scheduler.run_due()
        clock.sleep(5)
    assert log == []
    scheduler.on_user_count(40)
    fired_at = clock.now
    scheduler.run_due()
    assert [(a, n) for a, n, _ in log] == [("inject", "at-40")]
    assert log[0][2] == fired_at
    status = scheduler.snapshot()[0]
    assert status.state == "active"
    assert status.planned_start == pytest.approx(clock.wall())  # planned = the moment the step was reached
    assert scheduler.run_until_done(timeout_s=60)
    assert [(a, n) for a, n, _ in log] == [("inject", "at-40"), ("heal", "at-40")]


def test_user_count_reported_before_start_counts_at_start() -> None:
    clock, log = FakeClock(), []
    scheduler = _scheduler([fault("f", when_users=5)], clock, log)
    scheduler.on_user_count(10)
    scheduler.start()
    scheduler.run_due()
    assert [(a, n) for a, n, _ in log] == [("inject", "f")]


def test_heal_all_heals_what_is_in_force_and_skips_the_rest(tmp_path: Path) -> None:
    clock, log = FakeClock(), []
    faults = [fault("a", at=0, duration=100), fault("b", at=1, duration=100), fault("c", at=500)]
    scheduler = _scheduler(faults, clock, log, tmp_path)
    scheduler.start()
    scheduler.run_due()
    clock.sleep(2)
    scheduler.run_due()
    # mid-run, the journal already reads as "what if we stopped now"
    outcomes = {r.name: r.outcome for r in read_faults(tmp_path)}
    assert outcomes == {"a": "aborted", "b": "aborted", "c": "skipped"}
    scheduler.heal_all()
    assert sorted((a, n) for a, n, _ in log if a == "heal") == [("heal", "a"), ("heal", "b")]
    rows = {r.name: r for r in read_faults(tmp_path)}
    assert rows["a"].outcome == rows["b"].outcome == "aborted"
    assert rows["a"].actual_end is not None
    assert rows["c"].outcome == "skipped" and rows["c"].actual_start is None and rows["c"].actual_end is None
    assert scheduler.finished
    scheduler.heal_all()  # idempotent: nothing healed twice
    assert len([entry for entry in log if entry[0] == "heal"]) == 2


def test_one_failing_heal_does_not_stop_the_others(tmp_path: Path) -> None:
    clock, log = FakeClock(), []
    faults = [fault("a", at=0, duration=100), fault("b", at=0, duration=100), fault("c", at=0, duration=100)]
    scheduler = _scheduler(faults, clock, log, tmp_path, failing_heal=("b",))
    scheduler.start()
    scheduler.run_due()
    scheduler.heal_all()
    assert sorted(n for a, n, _ in log if a == "heal") == ["a", "b", "c"]
    rows = {r.name: r for r in read_faults(tmp_path)}
    assert rows["a"].outcome == rows["c"].outcome == "aborted"
    assert rows["b"].outcome == "heal-failed" and "heal exploded" in rows["b"].error


def test_a_driver_error_heals_everything_and_stops_the_schedule(tmp_path: Path) -> None:
    clock, log = FakeClock(), []
    faults = [fault("first", at=0, duration=100), fault("broken", at=5), fault("later", at=50)]
    scheduler = _scheduler(faults, clock, log, tmp_path, failing_inject=("broken",))
    scheduler.start()
    assert scheduler.run_until_done(timeout_s=600)
    assert [(a, n) for a, n, _ in log] == [
        ("inject", "first"), ("inject", "broken"), ("heal", "broken"), ("heal", "first"),
    ]  # fmt: skip
    rows = {r.name: r for r in read_faults(tmp_path)}
    assert rows["broken"].outcome == "inject-failed" and "inject exploded" in rows["broken"].error
    assert rows["first"].outcome == "aborted"
    assert rows["later"].outcome == "skipped"
    assert scheduler.error is not None and "inject exploded" in scheduler.error


def test_a_driver_error_can_be_contained_to_its_fault() -> None:
    clock, log = FakeClock(), []
    faults = [fault("broken", at=0, duration=5), fault("later", at=10, duration=5)]
    scheduler = _scheduler(faults, clock, log, failing_inject=("broken",), stop_on_error=False)
    scheduler.start()
    assert scheduler.run_until_done(timeout_s=600)
    assert {s.name: s.outcome for s in scheduler.snapshot()} == {"broken": "inject-failed", "later": "healed"}


def test_an_exception_in_the_caller_still_heals(tmp_path: Path) -> None:
    clock, log = FakeClock(), []
    scheduler = _scheduler([fault("a", at=0, duration=100)], clock, log, tmp_path)
    scheduler.start()
    with pytest.raises(KeyError):
        try:
            scheduler.run_due()
            raise KeyError("the load generator crashed")
        finally:
            scheduler.heal_all()
    assert [(a, n) for a, n, _ in log] == [("inject", "a"), ("heal", "a")]
    assert read_faults(tmp_path)[0].outcome == "aborted"


def test_pending_when_users_faults_do_not_end_the_schedule_until_stopped() -> None:
    clock, log = FakeClock(), []
    scheduler = _scheduler([fault("never", when_users=1000)], clock, log)
    scheduler.start()
    assert not scheduler.run_until_done(timeout_s=5)
    scheduler.heal_all()
    assert scheduler.finished and scheduler.snapshot()[0].outcome == "skipped" and log == []


def test_snapshot_states_follow_the_fault() -> None:
    clock, log = FakeClock(), []
    scheduler = _scheduler([fault("f", at=10, duration=10)], clock, log)
    assert scheduler.snapshot()[0].state == "pending"
    scheduler.start()
    clock.sleep(10)
    scheduler.run_due()
    assert scheduler.snapshot()[0].state == "active"
    clock.sleep(10)
    scheduler.run_due()
    status = scheduler.snapshot()[0]
    assert (status.state, status.outcome) == ("healed", "healed")


def test_each_window_journals_what_its_driver_saw_at_inject_and_heal(tmp_path: Path) -> None:
    clock, log = FakeClock(), []
    scheduler = _scheduler([fault("a", at=1, duration=2), fault("b", at=5, duration=2)], clock, log, tmp_path,
                           failing_inject=("b",))  # fmt: skip
    scheduler.start()
    assert scheduler.run_until_done(timeout_s=600)
    rows = {row.name: row for row in read_faults(tmp_path)}
    assert rows["a"].evidence == {"injects": 1, "healed": True}  # inject's keys, then heal's
    assert (rows["b"].outcome, rows["b"].evidence) == ("inject-failed", {"healed": True})  # the undo's
