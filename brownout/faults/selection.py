"""Which of a scenario's faults a run fires: the one rule behind `--faults`, `--no-faults`, the plugin's
options and the web UI's start form."""

from __future__ import annotations

from collections.abc import Collection

from brownout.errors import InputError
from brownout.scenario.schema import FaultSpec, Scenario


def choose_faults(
    scenario: Scenario, named: str = "", *, none: bool = False, off: Collection[str] = (),
    option: str = "--brownout-faults",
) -> tuple[FaultSpec, ...]:  # fmt: skip
    """No faults with `none`; else those in `named` (comma-separated; all when empty), less those named in
    `off`. A name in `named` the scenario does not have is an InputError naming `option`, even with `none`
    (a typo is a mistake whichever switch wins)."""
    wanted = [name.strip() for name in named.split(",") if name.strip()]
    known = [fault.name for fault in scenario.faults]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise InputError(
            f"{option}: no fault {', '.join(unknown)} in {scenario.path} (its faults: {', '.join(known) or 'none'})"
        )
    if none:
        return ()
    return tuple(f for f in scenario.faults if (not wanted or f.name in wanted) and f.name not in off)
