"""scenarios/repeat.toml: one fault repeated five times, with recovery room after every window."""

from __future__ import annotations

from pathlib import Path

from brownout.scenario.schema import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "repeat.toml"


def test_the_repeat_scenario_has_five_windows_each_followed_by_room_to_recover() -> None:
    scenario = load_scenario(SCENARIO)
    assert scenario.load.duration_s <= 180.0
    (fault,) = scenario.faults
    windows = fault.windows()
    assert [w.name for w in windows] == [
        "upstream-down", "upstream-down#2", "upstream-down#3", "upstream-down#4", "upstream-down#5",
    ]  # fmt: skip
    room = scenario.criteria.recovery_max_s
    starts = [w.planned_offset_s for w in windows[1:]] + [scenario.load.duration_s]
    assert all(following - w.planned_end_offset_s >= room for w, following in zip(windows, starts, strict=True))
