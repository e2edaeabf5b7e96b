"""Which of a scenario's faults a run fires (`--faults` / `--brownout-faults`)."""

from __future__ import annotations

from brownout.errors import InputError
from brownout.scenario.schema import FaultSpec, Scenario


def select_faults(scenario: Scenario, names: str, option: str = "--brownout-faults") -> tuple[FaultSpec, ...]:
    """The faults named in `names` (comma-separated; all when empty); InputError naming `option` for a name
    the scenario does not have."""
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if not wanted:
        return scenario.faults
    known = [fault.name for fault in scenario.faults]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise InputError(
            f"{option}: {', '.join(unknown)} not in {scenario.path} (its faults: {', '.join(known) or 'none'})"
        )
    return tuple(fault for fault in scenario.faults if fault.name in wanted)
