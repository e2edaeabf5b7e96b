"""Durations, ramps, spikes and when_users timing: the parts of a scenario other parts compute with."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.faults.kinds import CommandParams, HttpParams, NetworkParams
from brownout.scenario.schema import format_duration, parse_duration, parse_scenario

LOAD = """
[load]
users = { ChatUser = 3, StreamUser = 1 }
steps = [{ users = 10, spawn_rate = 5, duration = "30s" }, { users = 30, spawn_rate = 10, duration = "1m" }]
"""


@pytest.mark.parametrize(("text", "seconds"), [
    ("45s", 45.0), ("2m", 120.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("1.5s", 1.5),
    ("1m 5s", 65.0),
])  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "45", "5 minutes", "s", "1x", "-5s", "1m30"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for seconds in (0.5, 1.0, 45.0, 90.0, 120.0, 130.5):
        assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


def test_steps_users_mix_and_load_shape() -> None:
    scenario = parse_scenario(LOAD, "s.toml")
    load = scenario.load
    assert load.duration_s == 90.0
    assert dict(load.user_mix) == {"ChatUser": 3, "StreamUser": 1}
    assert load.target_at(0) == (10, 5.0, 0)
    assert load.target_at(45) == (30, 10.0, 1)
    assert load.target_at(90) is None
    # 10 users at 30 s, then 10 more per second: 20 users at 31 s
    assert load.time_to_reach(20) == pytest.approx(31.0)
    assert load.time_to_reach(5) == pytest.approx(1.0)
    assert load.time_to_reach(31) is None


def test_ramp_expands_into_steps_and_spike_overrides_users() -> None:
    text = """
[load]
ramp = { from = 10, to = 35, step = 10, step_duration = "20s", spawn_rate = 5 }
spike = { at = "25s", users = 100, duration = "5s", spawn_rate = 50 }
"""
    load = parse_scenario(text, "r.toml").load
    assert [s.users for s in load.steps] == [10, 20, 30, 35]
    assert load.duration_s == 80.0
    assert load.target_at(26) == (100, 50.0, 1)
    assert load.target_at(31) == (20, 5.0, 1)
    assert load.time_to_reach(60) == pytest.approx(25.0 + (60 - 20) / 50)


def test_fault_kinds_read_their_parameters() -> None:
    text = (
        LOAD
        + """
[[faults]]
name = "slow"
kind = "network"
target = "upstream"
toxic = "latency"
attributes = { latency = 300, jitter = 20 }
stream = "upstream"
at = "1m30s"
duration = "0s"
"""
    )
    with pytest.raises(InputError, match="must be greater than 0"):
        parse_scenario(text, "f.toml")
    scenario = parse_scenario(text.replace('at = "1m30s"', 'at = "10s"').replace('"0s"', '"5s"'), "f.toml")
    params = scenario.faults[0].params
    assert isinstance(params, NetworkParams)
    assert params.proxy == "upstream" and dict(params.attributes) == {"latency": 300, "jitter": 20}
    assert params.stream == "upstream" and params.toxicity == 1.0


def test_when_users_plans_from_the_load_shape_and_http_command_kinds() -> None:
    text = (
        LOAD
        + """
[[faults]]
name = "drain"
kind = "http"
target = "lb"
inject = { method = "POST", url = "http://127.0.0.1:1/drain", body = { node = 1 } }
heal = { method = "DELETE", url = "http://127.0.0.1:1/drain" }
when_users = 20
duration = "10s"

[[faults]]
name = "pause"
kind = "command"
target = "db"
inject = ["docker", "pause", "db"]
heal = ["docker", "unpause", "db"]
at = "5s"
duration = "10s"
timeout = "3s"
"""
    )
    drain, pause = parse_scenario(text, "w.toml").faults
    assert drain.planned_offset_s == pytest.approx(31.0) and drain.when_users == 20
    assert isinstance(drain.params, HttpParams)
    assert drain.params.inject.body == '{"node": 1}'
    assert ("Content-Type", "application/json") in drain.params.inject.headers
    assert isinstance(pause.params, CommandParams)
    assert pause.params.inject == ("docker", "pause", "db") and pause.params.timeout_s == 3.0
    fixed = drain.with_start_at(drain.planned_offset_s)
    assert fixed.at_s == pytest.approx(31.0) and fixed.when_users is None


def test_target_mode_needs_endpoints_for_stack_kinds(tmp_path: Path) -> None:
    text = (
        LOAD
        + """
[target]
host = "http://127.0.0.1:9000"

[[faults]]
name = "errors"
kind = "app"
target = "api"
dependency = "payments"
error_rate = 0.2
at = "5s"
duration = "5s"
"""
    )
    with pytest.raises(InputError, match=r'faults\[0\] "errors": field \'kind\'.*\[target.admin\]'):
        parse_scenario(text, "t.toml")
    with_admin = text + '\n[target.admin]\nurl = "http://127.0.0.1:9001"\ntoken = "t"\n'
    scenario = parse_scenario(with_admin.replace("[target]\n", "[target]\n", 1), "t.toml")
    assert scenario.target is not None and scenario.target.admin is not None
    assert scenario.target.admin.url == "http://127.0.0.1:9001" and scenario.stack is None


def test_missing_scenario_file_is_an_input_error(tmp_path: Path) -> None:
    from brownout.scenario.schema import load_scenario

    with pytest.raises(InputError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


_REPEATED = LOAD + """
[[faults]]
name = "upstream-down"
kind = "network"
target = "upstream"
down = true
at = "10s"
duration = "5s"
repeat = 2
every = "20s"
"""


def test_criteria_keyed_by_a_fault_the_scenario_lacks_are_refused_with_the_closest_name() -> None:
    typo = _REPEATED + '[criteria]\navailability_targets = { "upstrem-down" = 0.5 }\n'
    with pytest.raises(InputError) as raised:
        parse_scenario(typo, "c.toml")
    assert str(raised.value) == (
        "c.toml: criteria.availability_targets: field 'upstrem-down': names no fault of the scenario "
        "(did you mean 'upstream-down'?); its faults: upstream-down, upstream-down#2"
    )
    # a window has its own availability target; a recovery target goes by the fault's name only
    window = _REPEATED + '[criteria]\navailability_targets = { "upstream-down#2" = 0.5 }\n'
    assert parse_scenario(window, "c.toml").criteria.availability_min_for("upstream-down#2") == 0.5
    with pytest.raises(InputError, match=r"fault_recovery_targets_s: field 'upstream-down#2': names no fault"):
        parse_scenario(_REPEATED + '[criteria]\nfault_recovery_targets_s = { "upstream-down#2" = 5 }\n', "c.toml")
