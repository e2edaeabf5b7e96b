"""The scenario's plans in words, as the start form, the Faults tab and the faults page show them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from brownout.plugin.manual import describe_kind
from brownout.scenario.load_plan import Load
from brownout.scenario.schema import FaultSpec, format_duration


def planned(spec: FaultSpec | None) -> str:
    """When a fault fires and for how long: "+3s for 3s", "5 users (~+4s) for 10s", "by hand"."""
    if spec is None:
        return "by hand"
    if spec.when_users is not None:
        when = f"{spec.when_users} users (~+{format_duration(spec.planned_offset_s)})"
    else:
        when = f"+{format_duration(spec.planned_offset_s)}"
    repeated = f", {spec.repeat} times every {format_duration(spec.every_s)}" if spec.repeat > 1 else ""
    return f"{when} for {format_duration(spec.duration_s)}{repeated}"


def fault_plan(spec: FaultSpec) -> str:
    return f"{describe_kind(spec.kind, spec.params)} on {spec.target}, {planned(spec)}"


def load_plan(load: Load) -> str:
    """"3 users (+3/s) for 8s, then 5 users (+5/s) for 12s; 20s in all"."""
    steps = [f"{step.users} users (+{step.spawn_rate:g}/s) for {format_duration(step.duration_s)}"
             for step in load.steps]  # fmt: skip
    text = ", then ".join(steps)
    if load.spike is not None:
        spike = load.spike
        at, lasting = format_duration(spike.at_s), format_duration(spike.duration_s)
        text += f"; a spike to {spike.users} users at +{at} for {lasting}"
    return f"{text}; {format_duration(load.duration_s)} in all"


def step_text(load: Load, index: int) -> str:
    """"step 2 of 3: 5 users (+5/s) for 12s"."""
    if not 0 <= index < len(load.steps):
        return ""
    step = load.steps[index]
    return (f"step {index + 1} of {len(load.steps)}: {step.users} users (+{step.spawn_rate:g}/s) "
            f"for {format_duration(step.duration_s)}")  # fmt: skip


def option_keys(faults: Sequence[FaultSpec]) -> dict[str, str]:
    """fault name -> its checkbox in the start form: `brownout_fault_<name>`, everything but [a-z0-9] as `_`
    (Locust labels it "Brownout Fault <Name>"; a number in the key would lose the space after it)."""
    return {spec.name: "brownout_fault_" + re.sub(r"[^a-z0-9]+", "_", spec.name.lower()).strip("_") for spec in faults}


def same_key(a: str, b: str) -> bool:
    """Locust's web UI camelCases a form's keys and back, which can move an underscore around a digit."""
    return a.replace("_", "") == b.replace("_", "")
