"""The live guards' decision on literal timeline rows (1 s buckets), the monitor's kill switch and wall clock,
the [guard] table, guard.json and the guard check."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from brownout.checks.criteria import Criteria
from brownout.checks.guard import check_guard
from brownout.checks.verdict import judge
from brownout.errors import InputError
from brownout.history import GuardRecord, read_guard, write_guard
from brownout.history.guard import BY_GUARD, BY_KILL_SWITCH, Abort
from brownout.plugin.guard import FaultSpan, GuardMonitor, find_breach
from brownout.scenario.guard import Guard
from brownout.scenario.schema import parse_scenario
from tests.checks.checks_literals import history, rows

LOAD = '[load]\nsteps = [{users = 1, spawn_rate = 1, duration = "1m"}]\n'
HALF = Guard(error_ratio_max=0.5, window=10.0)


def breach(guard: Guard, timeline: list, spans: tuple[FaultSpan, ...] = (), until: float = 20.0):
    return find_breach(guard, timeline, spans, until=until, bucket_s=1.0)


def test_an_error_ratio_over_the_limit_outside_faults_is_a_breach_with_the_line_people_read() -> None:
    timeline = rows(0, 10, ok=10) + rows(10, 20, ok=2, failed=8)  # the last 10 s: 80 % failed
    found = breach(HALF, timeline)
    assert found is not None and (found.by, found.what) == (BY_GUARD, "error_ratio_max")
    assert found.reason == "error ratio 80 % over 10 s (limit 50 %)"
    abort = found.at(now=72.4, started_at=0.0, in_force=())
    assert abort.message == "aborted by guard: error ratio 80 % over 10 s (limit 50 %) at 1m12s"


def test_at_the_limit_too_few_requests_or_outside_the_window_is_no_breach() -> None:
    assert breach(HALF, rows(10, 20, ok=5, failed=5)) is None  # 50 % is the limit, not over it
    assert breach(HALF, rows(11, 20, ok=0, failed=1)) is None  # 9 requests < min_requests 10
    assert breach(HALF, rows(0, 10, ok=0, failed=10) + rows(10, 20, ok=10)) is None  # the failures are older
    assert breach(Guard(), rows(10, 20, ok=0, failed=10)) is None  # no limit configured


def test_failures_inside_a_fault_window_do_not_count_against_the_error_ratio() -> None:
    timeline = rows(10, 20, ok=2, failed=8)
    assert breach(HALF, timeline, (FaultSpan("db-down", 9.5, 20.0),)) is None
    assert breach(HALF, timeline, (FaultSpan("db-down", 9.5, 14.0),)) is not None  # 15..20 outside, 80 %


def test_the_availability_floor_applies_during_a_fault_and_names_it() -> None:
    guard = Guard(availability_min_during_fault=0.5, window=10.0)
    timeline = rows(10, 14, ok=10) + rows(14, 20, ok=0, failed=10)
    spans = (FaultSpan("gateway-gone", 14.0),)  # still in force
    found = breach(guard, timeline, spans)
    assert found is not None and found.what == "availability_min_during_fault"
    assert found.reason == "availability 0 % during fault 'gateway-gone' over 10 s (floor 50 %)"
    assert breach(guard, timeline) is None  # no fault: the floor does not apply


def test_a_p95_over_its_limit_outside_faults_is_a_breach() -> None:
    guard = Guard(p95_ms_max=500, window=10.0)
    assert breach(guard, rows(10, 20, ms=400)) is None
    found = breach(guard, rows(10, 20, ms=900))
    assert found is not None and found.reason == "p95 900 ms over 10 s (limit 500 ms)"


def test_the_monitor_sees_the_kill_switch_created_or_touched_but_not_a_file_already_there(tmp_path: Path) -> None:
    switch = tmp_path / "stop"
    monitor = GuardMonitor(Guard(), started_at=0.0, bucket_s=1.0, kill_switch=switch)
    assert monitor.check(5.0, 4.0, ()) is None
    switch.touch()
    found = monitor.check(6.0, 5.0, ())
    assert found is not None and (found.by, found.what, found.reason) == (BY_KILL_SWITCH, "file", f"{switch} touched")
    assert found.at(6.0, 0.0, ("a",)).message == f"aborted by kill switch ({switch} touched) at 6s"
    already = GuardMonitor(Guard(), started_at=0.0, bucket_s=1.0, kill_switch=switch)
    assert already.check(5.0, 4.0, ()) is None
    os.utime(switch, ns=(1, 1))  # touched again
    assert already.check(6.0, 5.0, ()) is not None


def test_the_monitor_stops_at_max_duration_and_keeps_only_the_last_window() -> None:
    monitor = GuardMonitor(Guard(max_duration=60.0, error_ratio_max=0.5), started_at=100.0, bucket_s=1.0,
                           kill_switch=None)  # fmt: skip
    monitor.add(rows(0, 30, ok=0, failed=10) + rows(100, 130, ok=10))
    assert monitor.check(159.0, 130.0, ()) is None  # the failures are far older than the window
    found = monitor.check(160.0, 131.0, ())
    assert found is not None and found.reason == "the test ran 1m (max_duration 1m)"


def test_the_guard_table_is_validated_with_did_you_mean() -> None:
    scenario = parse_scenario(LOAD + '[guard]\nerror_ratio_max = 0.5\nwindow = "5s"\nmax_duration = "2m"\n', "s.toml")
    assert scenario.guard == Guard(error_ratio_max=0.5, window=5.0, max_duration=120.0)
    assert not parse_scenario(LOAD, "s.toml").guard.configured  # no guard unless configured
    for text, said in (
        ("error_ratio_max = 1.5", "s.toml: guard: field 'error_ratio_max': is a ratio, must be within 0..1, got 1.5"),
        ("eror_ratio_max = 0.5", "unknown guard field 'eror_ratio_max' (did you mean 'error_ratio_max'?)"),
        ('window = "0s"', "field 'window': must be greater than 0"),
        ("p95_ms_max = -1", "field 'p95_ms_max': must be greater than 0"),
    ):
        with pytest.raises(InputError, match=said.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
            parse_scenario(LOAD + "[guard]\n" + text + "\n", "s.toml")


def test_guard_json_round_trips_and_the_check_fails_an_aborted_run(tmp_path: Path) -> None:
    abort = Abort(BY_GUARD, "error_ratio_max", "error ratio 73 % over 10 s (limit 50 %)", 1000.0, 72.0, 0.73, 0.5,
                  ("db-down",))  # fmt: skip
    record = GuardRecord(HALF.to_json(), None, abort)
    write_guard(tmp_path, record)
    assert read_guard(tmp_path) == record
    (tmp_path / "guard.json").write_text('{"limits": {}, "abort": {"by": "guard"}}')
    with pytest.raises(InputError, match="guard.json: field 'abort.what' is missing"):
        read_guard(tmp_path)

    aborted = dataclasses.replace(history(rows(0, 40)), guard=record)
    result = check_guard(aborted, Criteria())
    assert (result.status, result.summary) == ("fail", abort.message)
    assert abort.message == "aborted by guard: error ratio 73 % over 10 s (limit 50 %) at 1m12s"
    assert judge(aborted, Criteria()).status == "fail"  # whatever the other checks say
    held = dataclasses.replace(aborted, guard=GuardRecord(HALF.to_json()))
    assert check_guard(held, Criteria()).summary == "no guard breached (error_ratio_max 0.5)"
    plain = check_guard(history(rows(0, 40)), Criteria())
    assert (plain.status, plain.summary) == ("pass", "no guard configured")
