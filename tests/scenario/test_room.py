"""A scenario that leaves too little time after a heal to see the recovery is warned about before the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from brownout.scenario.room import room_warnings
from brownout.scenario.schema import parse_scenario

SCENARIO = """
[stack]
path = "{stack}"
[load]
steps = [{{ users = 2, spawn_rate = 2, duration = "40s" }}]
[[faults]]
name = "a"
kind = "network"
target = "upstream"
down = true
at = "5s"
duration = "5s"
[[faults]]
name = "b"
kind = "network"
target = "notifier"
down = true
at = "8s"
duration = "4s"
[[faults]]
name = "c"
kind = "component"
target = "notifier"
action = "kill"
at = "20s"
duration = "10s"
[criteria]
recovery_max_s = 6
fault_recovery_targets_s = {{ "c" = 3 }}
"""
STACK = Path(__file__).resolve().parents[2] / "targets" / "sample" / "stack.toml"


def test_room_is_measured_from_an_episodes_last_heal_to_the_next_fault_or_the_end():
    scenario = parse_scenario(SCENARIO.format(stack=STACK), "s.toml")
    # a and b overlap: one episode healed at 12 s, 8 s before c starts (6 s + 2 s sustain fits exactly);
    # c heals at 30 s, 10 s before the end, and needs only its own 3 s + 2 s.
    assert room_warnings(scenario) == []
    tight = parse_scenario(SCENARIO.format(stack=STACK).replace('at = "20s"', 'at = "18s"'), "s.toml")
    assert room_warnings(tight) == [
        's.toml: faults[1] "b": leaves 6s after its heal at 12s before faults[2] "c" starts; seeing a recovery '
        "needs its recovery target 6 s + recovery_sustain_s 2 s: a recovery slower than 4.0 s would be "
        "unknown (censored)"
    ]


def test_run_strict_refuses_a_scenario_without_room_and_names_the_fault(tmp_path: Path):
    scenario = tmp_path / "tight.toml"
    scenario.write_text(SCENARIO.format(stack=STACK).replace("recovery_max_s = 6", "recovery_max_s = 30"))
    done = subprocess.run(
        [sys.executable, "-m", "brownout", "run", str(scenario), "--out", str(tmp_path / "out"), "--strict"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f'{scenario}: faults[1] "b": leaves 8s after its heal at 12s' in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_every_repetition_of_a_repeated_fault_needs_room_too():
    repeated = SCENARIO.format(stack=STACK).replace(
        'at = "20s"\nduration = "10s"', 'at = "20s"\nduration = "2s"\nrepeat = 3\nevery = "6s"'
    )
    scenario = parse_scenario(repeated, "s.toml")
    # c, c#2, c#3 heal at 22, 28 and 34 s: 4 s before the next repetition, then 6 s before the end
    assert room_warnings(scenario) == [
        f's.toml: faults[2] "c{suffix}": leaves {room}s after its heal at {heal}s before {cause}; seeing a '
        "recovery needs its recovery target 3 s + recovery_sustain_s 2 s: a recovery slower than "
        f"{slowest} s would be unknown (censored)"
        for suffix, room, heal, cause, slowest in (
            ("", 4, 22, 'faults[2] "c#2" starts', "2.0"),
            ("#2", 4, 28, 'faults[2] "c#3" starts', "2.0"),
        )
    ]
