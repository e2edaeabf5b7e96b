"""A repeated fault (`repeat = N`, `every = ...`): one window per repetition, each injected, healed and
journalled on its own as `name`, `name#2`, ... A scenario's faults stay one spec per [[faults]] entry
(so --faults and the web UI select a repeated fault by its base name); the scheduler expands them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.synthetic import SyntheticRun, write_synthetic_run
from brownout.checks.windows import fault_windows
from brownout.faults.journal import FaultJournal
from brownout.faults.kinds import base_fault_name
from brownout.faults.scheduler import FaultScheduler
from brownout.history import load_history, read_faults
from brownout.scenario.schema import parse_scenario
from tests.faults.support import FakeClock, RecordingDriver

SCENARIO = """
[load]
steps = [{ users = 5, spawn_rate = 5, duration = "30s" }, { users = 10, spawn_rate = 5, duration = "40s" }]

[[faults]]
name = "flap"
kind = "command"
target = "box"
inject = ["true"]
at = "5s"
duration = "4s"
repeat = 3
every = "20s"

[[faults]]
name = "once"
kind = "command"
target = "other"
inject = ["true"]
when_users = 10
duration = "2s"
repeat = 2
every = "10s"
"""


def test_a_repeated_fault_expands_into_its_windows_and_a_single_one_keeps_its_name() -> None:
    scenario = parse_scenario(SCENARIO, "repeat.toml")
    flap, once = scenario.faults
    assert [(w.name, w.at_s, w.planned_offset_s, w.duration_s) for w in flap.windows()] == [
        ("flap", 5.0, 5.0, 4.0), ("flap#2", 25.0, 25.0, 4.0), ("flap#3", 45.0, 45.0, 4.0),
    ]  # fmt: skip
    # when_users: the load reaches 10 users at 30 s (+1 s of spawning); repetitions lag the trigger.
    assert [(w.name, w.at_s, w.lag_s) for w in once.windows()] == [("once", None, 0.0), ("once#2", None, 10.0)]
    single = parse_scenario(SCENARIO.replace('repeat = 3\nevery = "20s"\n', ""), "single.toml").faults[0]
    assert [w.name for w in single.windows()] == ["flap"]
    assert [base_fault_name(n) for n in ("flap", "flap#2", "flap#13", "a#b", "#2", "x#")] == [
        "flap", "flap", "flap", "a#b", "#2", "x#",
    ]  # fmt: skip


def test_the_scheduler_injects_heals_and_journals_each_repetition(tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO, "repeat.toml")
    clock, log = FakeClock(), []
    drivers = {f.name: RecordingDriver(f.name, log, clock) for f in scenario.faults}
    scheduler = FaultScheduler(
        scenario.faults, drivers, journal=FaultJournal(tmp_path),  # type: ignore[arg-type]
        clock=clock, wall_clock=clock.wall, sleep=clock.sleep, inline=True,
    )  # fmt: skip
    scheduler.start()
    t0 = clock.now
    scheduler.on_user_count(10)  # at once: `once` fires now, `once#2` 10 s later
    assert scheduler.run_until_done(timeout_s=600)
    flap = [(action, round(t - t0)) for action, name, t in log if name == "flap"]
    assert flap == [("inject", 5), ("heal", 9), ("inject", 25), ("heal", 29), ("inject", 45), ("heal", 49)]
    once = [(action, round(t - t0)) for action, name, t in log if name == "once"]
    assert once == [("inject", 0), ("heal", 2), ("inject", 10), ("heal", 12)]
    rows = read_faults(tmp_path)
    assert sorted(row.name for row in rows) == ["flap", "flap#2", "flap#3", "once", "once#2"]
    assert {row.outcome for row in rows} == {"healed"}
    planned = {row.name: round((row.planned_start or 0) - clock.wall() + clock.now - t0) for row in rows}
    assert planned == {"flap": 5, "flap#2": 25, "flap#3": 45, "once": 0, "once#2": 10}


def test_a_stop_heals_the_window_in_force_and_skips_the_repetitions_to_come(tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO, "repeat.toml")
    flap = scenario.faults[0]
    clock, log = FakeClock(), []
    scheduler = FaultScheduler(
        (flap,), {"flap": RecordingDriver("flap", log, clock)}, journal=FaultJournal(tmp_path),  # type: ignore[dict-item]
        clock=clock, wall_clock=clock.wall, sleep=clock.sleep, inline=True,
    )  # fmt: skip
    scheduler.start()
    while not log or len(log) < 3:  # inject, heal, inject: the second window is in force
        clock.sleep(0.5)
        scheduler.run_due()
    scheduler.heal_all()
    assert {row.name: row.outcome for row in read_faults(tmp_path)} == {
        "flap": "healed", "flap#2": "aborted", "flap#3": "skipped",
    }  # fmt: skip


def test_the_checks_label_each_repetition_by_its_journal_name(tmp_path: Path) -> None:
    from bench.synthetic import SyntheticFault

    run = SyntheticRun(
        seconds=40.0,
        faults=(SyntheticFault("flap", 5, 8), SyntheticFault("flap#2", 15, 18), SyntheticFault("flap#3", 25, 28)),
    )
    history = load_history(write_synthetic_run(tmp_path / "run", run))
    assert [(w.label, w.start - history.manifest.started_at) for w in fault_windows(history)] == [
        ("flap", pytest.approx(5.0)), ("flap#2", pytest.approx(15.0)), ("flap#3", pytest.approx(25.0)),
    ]  # fmt: skip


def test_a_repetition_has_its_faults_availability_target() -> None:
    from brownout.checks import Criteria

    criteria = Criteria.from_mapping({"availability_targets": {"flap": 0.3, "flap#2": 0.4}}, source="test")
    assert [criteria.availability_min_for(n) for n in ("flap", "flap#3", "flap#2", "other#2")] == [0.3, 0.3, 0.4, 0.6]
