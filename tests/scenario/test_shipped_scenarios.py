"""The shipped scenarios parse, fit their time budgets and have the faults the README promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.faults.kinds import ComponentParams, NetworkParams
from brownout.scenario.room import room_warnings
from brownout.scenario.schema import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BUDGET_S = {"default": 180.0, "ci": 70.0, "smoke": 35.0}


@pytest.mark.parametrize("name", sorted(BUDGET_S))
def test_shipped_scenario_parses_and_fits_its_budget(name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.faults
    assert scenario.load.duration_s <= BUDGET_S[name]
    assert all(f.planned_end_offset_s <= scenario.load.duration_s for f in scenario.faults)
    assert scenario.stack is not None and scenario.stack.path.is_file()
    assert room_warnings(scenario) == []  # every recovery can be seen within its target


def test_default_scenario_has_rising_steps_mixed_faults_a_double_failure_and_a_gateway_restart() -> None:
    scenario = load_scenario(SCENARIOS / "default.toml")
    users = [step.users for step in scenario.load.steps]
    assert len(users) >= 3 and users[1] > users[0] and max(users) > users[0]
    assert len({fault.kind for fault in scenario.faults}) >= 3
    restarts = [
        f
        for f in scenario.faults
        if f.target == "gateway" and isinstance(f.params, ComponentParams) and f.params.action == "restart"
    ]
    assert restarts
    windows = [
        (f.planned_offset_s, f.planned_end_offset_s, f.target)
        for f in scenario.faults
        if isinstance(f.params, ComponentParams | NetworkParams)
    ]
    assert any(a[0] < b[1] and b[0] < a[1] and a[2] != b[2] for a in windows for b in windows if a != b)
