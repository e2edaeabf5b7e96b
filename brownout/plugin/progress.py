"""The one-line progress report a headless run prints: elapsed/total, users, rps, failures, active faults."""

from __future__ import annotations

import time

from locust.env import Environment

from brownout.faults.scheduler import FaultScheduler
from brownout.plugin.shape import ScenarioShape
from brownout.scenario.schema import Scenario

_IN_FORCE = ("injecting", "active", "healing")


def progress_line(
    environment: Environment, started_at: float, scenario: Scenario, scheduler: FaultScheduler | None
) -> str:
    elapsed = time.time() - started_at
    total = scenario.load.duration_s
    runner = environment.runner
    users = runner.user_count if runner is not None else 0
    stats = environment.stats.total
    shape = environment.shape_class
    step = f" step {shape.current_step + 1}/{len(scenario.load.steps)}" if isinstance(shape, ScenarioShape) else ""
    active = [s.name for s in scheduler.snapshot() if s.state in _IN_FORCE] if scheduler else []
    return (
        f"[{elapsed:5.0f}s/{total:.0f}s] users {users}{step}  rps {stats.current_rps:6.1f}  "
        f"requests {stats.num_requests}  failures {stats.fail_ratio:5.1%}  "
        f"faults: {', '.join(active) if active else '-'}"
    )
