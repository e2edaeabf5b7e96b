"""Pass/fail thresholds: a scenario's [criteria] table, validated, with the defaults of the requirements."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from brownout.inputs import TomlTable, declared, for_operation, names_operation

CHECK_NAMES = ("faults", "availability", "recovery", "detection", "load", "integrity", "resilience")

T = TypeVar("T")


# Every criterion is a limit: never negative, never infinite (a limit of inf is no limit: leave it out).
def _amount(default: T) -> T:
    return declared("number", default, minimum=0, finite=True)


def _ratio(default: float) -> float:
    return declared("number", default, minimum=0, ratio=True, finite=True)


def _count(default: int) -> int:
    return declared("integer", default, minimum=0)


def _targets() -> Mapping[str, float]:
    """name -> its own limit"""
    return declared("numbers", {}, finite=True)


@dataclass(frozen=True)
class Criteria:
    # availability during each fault window: (ok + degraded) / all
    availability_min: float = _ratio(0.60)
    availability_targets: Mapping[str, float] = _targets()  # fault name -> its own minimum
    # recovery: heal -> back inside the pre-fault band for a sustained window
    recovery_max_s: float = _amount(30.0)
    recovery_pairs_within_target_min: float = _ratio(0.80)
    recovery_targets_s: Mapping[str, float] = _targets()  # operation -> s
    fault_recovery_targets_s: Mapping[str, float] = _targets()  # fault name -> its own max s
    recovery_sustain_s: float = _amount(2.0)
    recovery_min_requests: int = _count(5)
    recovery_error_ratio_margin: float = _ratio(0.05)
    recovery_degraded_margin: float = _ratio(0.05)
    recovery_p95_factor: float = _amount(1.5)
    recovery_p95_slack_ms: float = _amount(20.0)
    baseline_window_s: float = _amount(10.0)
    baseline_min_requests: int = _count(20)
    fallback_error_ratio_max: float = _ratio(0.05)  # the band when no baseline can be measured
    # operations made only when a user starts (e.g. "POST /threads"): too sparse to time a recovery or a
    # load step by; recovery and load leave them out
    setup_operations: tuple[str, ...] = declared("names", ())
    # rising load
    p95_target_ms: float = _amount(1000.0)
    p95_targets_ms: Mapping[str, float] = _targets()  # operation -> ms
    knee_min_throughput_gain: float = _amount(0.5)
    error_ratio_max: float = _ratio(0.05)  # a load step's error ratio outside fault windows
    # a p95 is judged only when at least this many requests lie above it (5 -> 100 requests): the p95 of
    # twenty requests is their slowest one, which a single stray request sets
    p95_min_tail_requests: int = _count(5)
    # integrity
    max_lost: int = _count(0)
    max_duplicated: int = _count(0)
    max_stream_gaps: int = _count(0)
    max_stream_duplicates: int = _count(0)
    allow_unverifiable: bool = declared("bool", False)
    # unknown answers of these checks do not fail the verdict (their data depends on the target's metrics)
    allow_unknown: tuple[str, ...] = declared("names", ("detection", "resilience"), choices=CHECK_NAMES)
    # alerts and optional telemetry limits
    alert_critical_recovery_s: float = _amount(10.0)
    detection_max_s: float | None = _amount(None)
    max_retry_amplification: float | None = _amount(None)

    def availability_min_for(self, fault: str) -> float:
        """A repetition (`upstream-down#2`) has its fault's target."""
        from brownout.faults.kinds import base_fault_name

        own = self.availability_targets.get(fault, self.availability_targets.get(base_fault_name(fault)))
        return float(self.availability_min if own is None else own)

    # Operations are keyed by Locust's "TYPE name" or by the name alone (brownout.inputs.for_operation).
    def recovery_target_s(self, operation: str) -> float:
        own = for_operation(self.recovery_targets_s, operation)
        return float(self.recovery_max_s if own is None else own)

    def fault_recovery_max_s(self, fault: str) -> float:
        """A fault's own recovery limit (by its name; repetitions "name#2" share it), else recovery_max_s."""
        return float(self.fault_recovery_targets_s.get(fault.split("#", 1)[0], self.recovery_max_s))

    def episode_recovery_max_s(self, faults: Iterable[str]) -> float:
        """Overlapping faults recover once, from the last heal: against the most lenient of their limits."""
        return max(self.fault_recovery_max_s(fault) for fault in faults)

    def p95_target_for(self, operation: str) -> float:
        own = for_operation(self.p95_targets_ms, operation)
        return float(self.p95_target_ms if own is None else own)

    def setup_among(self, operations: Iterable[str]) -> tuple[str, ...]:
        """The operations `setup_operations` names, by their whole name or their name without the type."""
        return tuple(op for op in operations if any(names_operation(key, op) for key in self.setup_operations))

    def allows_unknown(self, check: str) -> bool:
        return check in self.allow_unknown or (check == "integrity" and self.allow_unverifiable)

    def to_json(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        document["availability_targets"] = dict(self.availability_targets)
        document["recovery_targets_s"] = dict(self.recovery_targets_s)
        document["fault_recovery_targets_s"] = dict(self.fault_recovery_targets_s)
        document["p95_targets_ms"] = dict(self.p95_targets_ms)
        document["allow_unknown"] = list(self.allow_unknown)
        document["setup_operations"] = list(self.setup_operations)
        return document

    @classmethod
    def from_mapping(cls, mapping: object, source: str = "[criteria]", where: str = "criteria") -> Criteria:
        """Validate a [criteria] table; unknown keys and wrong types raise InputError naming source, place, field."""
        return TomlTable(mapping, file=source, where=where).read_into(cls, noun="criterion")
