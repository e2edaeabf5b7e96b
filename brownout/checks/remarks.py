"""What the report says beside the verdict, judging nothing: criteria names that match nothing in the run
(warnings, each with the closest name) and what the checks would need to say more (notes). Pure functions of
the history and the criteria, like the checks.

Operation names are only known once the run has happened, so a `[criteria]` key naming no operation is a
warning here (and in `brownout run`'s closing lines), not an error at parse time. Fault names are checked
when the scenario is parsed; they are checked again here for a `brownout report --criteria FILE`.
"""

from __future__ import annotations

from dataclasses import dataclass

from brownout.checks.criteria import Criteria
from brownout.checks.metric_names import mapping_note
from brownout.faults.kinds import base_fault_name
from brownout.history import History
from brownout.inputs import suggest, unmatched_operation

_BY_OPERATION = ("setup_operations", "recovery_targets_s", "p95_targets_ms")
_BY_FAULT = ("availability_targets", "fault_recovery_targets_s")


@dataclass(frozen=True)
class Remarks:
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {"warnings": list(self.warnings), "notes": list(self.notes)}


NO_REMARKS = Remarks()


def remarks(history: History, criteria: Criteria) -> Remarks:
    note = mapping_note(history)
    return Remarks(name_warnings(history, criteria), (note,) if note else ())


def name_warnings(history: History, criteria: Criteria) -> tuple[str, ...]:
    operations = history.timeline.operations
    warnings = [
        f"[criteria] {field}: {why}"
        for field in _BY_OPERATION
        for key in getattr(criteria, field)
        if (why := unmatched_operation(key, operations)) is not None
    ]
    faults = _fault_names(history)
    for field in _BY_FAULT:
        for key in getattr(criteria, field):
            if key not in faults:
                hint = suggest(key, sorted(faults))
                warnings.append(f"[criteria] {field}: {key!r} names no fault of the run{f' ({hint})' if hint else ''}")
    return tuple(warnings)


def _fault_names(history: History) -> set[str]:
    """The run's fault windows (`name`, `name#2`) and faults, also those of its scenario it did not fire."""
    journal = {row.name for row in history.faults} | {base_fault_name(row.name) for row in history.faults}
    planned = history.manifest.scenario.get("faults") or []
    return journal | {str(fault["name"]) for fault in planned if isinstance(fault, dict) and "name" in fault}
