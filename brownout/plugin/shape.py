"""A Locust LoadTestShape built from the scenario's `[load]`: steps, ramp, spike."""

from __future__ import annotations

from locust import LoadTestShape

from brownout.scenario.load_plan import Load


class ScenarioShape(LoadTestShape):
    """Follows `load` (set by the plugin at init from the scenario); `current_step` feeds users.csv."""

    load: Load | None = None
    current_step: int = 0

    def tick(self) -> tuple[int, float] | None:
        if self.load is None:
            return None
        target = self.load.target_at(self.get_run_time())
        if target is None:
            return None
        users, spawn_rate, self.current_step = target
        return users, spawn_rate
