"""Whether a scenario leaves room to observe each recovery, checked before the run.

The recovery check can only see a recovery inside [heal, next fault or end of run): a fault whose heal
leaves less than `recovery_max_s` + `recovery_sustain_s` before that will have its slow recoveries censored
(unknown). Overlapping faults are one episode (as in brownout/checks/windows.py), measured from the last heal.
"""

from __future__ import annotations

from dataclasses import dataclass

from brownout.checks.windows import overlapping
from brownout.inputs import format_duration
from brownout.scenario.schema import Scenario


@dataclass(frozen=True)
class PlannedWindow:
    label: str  # how errors name the fault: faults[1] "upstream-down"
    name: str
    start: float  # offset from the start of the load, s
    end: float


def planned_windows(scenario: Scenario) -> list[PlannedWindow]:
    return [
        PlannedWindow(w.label, w.name, w.planned_offset_s, w.planned_end_offset_s)
        for fault in scenario.faults
        for w in fault.windows()  # every repetition of a repeated fault
    ]


def room_warnings(scenario: Scenario) -> list[str]:
    """One line per fault whose recovery the scenario leaves too little time to observe."""
    criteria = scenario.criteria
    episodes = overlapping(planned_windows(scenario))
    warnings = []
    for index, episode in enumerate(episodes):
        heal = max(w.end for w in episode)
        following = episodes[index + 1] if index + 1 < len(episodes) else None
        until, cause = (
            (scenario.load.duration_s, "the run ends")
            if following is None else (following[0].start, f"{following[0].label} starts")
        )  # fmt: skip
        room = until - heal
        limit = criteria.episode_recovery_max_s(w.name for w in episode)
        if room + 1e-9 < limit + criteria.recovery_sustain_s:
            last = max(episode, key=lambda w: w.end)
            slowest = max(0.0, room - criteria.recovery_sustain_s)
            warnings.append(
                f"{scenario.path}: {last.label}: leaves {format_duration(room)} after its heal at "
                f"{format_duration(heal)} before {cause}; seeing a recovery needs its recovery target "
                f"{limit:g} s + recovery_sustain_s {criteria.recovery_sustain_s:g} s: "
                f"a recovery slower than {slowest:.1f} s would be unknown (censored)"
            )
    return warnings

