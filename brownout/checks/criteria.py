"""Pass/fail thresholds: a scenario's [criteria] table, validated, with the defaults of the requirements."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from brownout.inputs import TomlTable, declare

CHECK_NAMES = ("faults", "availability", "recovery", "detection", "load", "integrity", "resilience")

# Every criterion is a limit: never negative, never infinite (a limit of inf is no limit: leave it out).
_AMOUNT = declare("number", minimum=0, finite=True)
_RATIO = declare("number", minimum=0, ratio=True, finite=True)
_COUNT = declare("integer", minimum=0)
_FLAG = declare("bool")
_TARGETS = declare("numbers", finite=True)  # name -> its own limit
_OPERATIONS = declare("names")  # like "POST /threads"
_CHECKS = declare("names", choices=CHECK_NAMES)


@dataclass(frozen=True)
class Criteria:
    # availability during each fault window: (ok + degraded) / all
    availability_min: float = field(default=0.60, metadata=_RATIO)
    # fault name -> its own minimum
    availability_targets: Mapping[str, float] = field(default_factory=dict, metadata=_TARGETS)
    # recovery: heal -> back inside the pre-fault band for a sustained window
    recovery_max_s: float = field(default=30.0, metadata=_AMOUNT)
    recovery_pairs_within_target_min: float = field(default=0.80, metadata=_RATIO)
    recovery_targets_s: Mapping[str, float] = field(default_factory=dict, metadata=_TARGETS)  # operation -> s
    # fault name -> its own max s
    fault_recovery_targets_s: Mapping[str, float] = field(default_factory=dict, metadata=_TARGETS)
    recovery_sustain_s: float = field(default=2.0, metadata=_AMOUNT)
    recovery_min_requests: int = field(default=5, metadata=_COUNT)
    recovery_error_ratio_margin: float = field(default=0.05, metadata=_RATIO)
    recovery_degraded_margin: float = field(default=0.05, metadata=_RATIO)
    recovery_p95_factor: float = field(default=1.5, metadata=_AMOUNT)
    recovery_p95_slack_ms: float = field(default=20.0, metadata=_AMOUNT)
    baseline_window_s: float = field(default=10.0, metadata=_AMOUNT)
    baseline_min_requests: int = field(default=20, metadata=_COUNT)
    # the band when no baseline can be measured
    fallback_error_ratio_max: float = field(default=0.05, metadata=_RATIO)
    # operations made only when a user starts (e.g. "POST /threads"): too sparse to time a recovery or a
    # load step by; recovery and load leave them out
    setup_operations: tuple[str, ...] = field(default=(), metadata=_OPERATIONS)
    # rising load
    p95_target_ms: float = field(default=1000.0, metadata=_AMOUNT)
    p95_targets_ms: Mapping[str, float] = field(default_factory=dict, metadata=_TARGETS)  # operation -> ms
    knee_min_throughput_gain: float = field(default=0.5, metadata=_AMOUNT)
    # a load step's error ratio outside fault windows
    error_ratio_max: float = field(default=0.05, metadata=_RATIO)
    # a p95 is judged only when at least this many requests lie above it (5 -> 100 requests): the p95 of
    # twenty requests is their slowest one, which a single stray request sets
    p95_min_tail_requests: int = field(default=5, metadata=_COUNT)
    # integrity
    max_lost: int = field(default=0, metadata=_COUNT)
    max_duplicated: int = field(default=0, metadata=_COUNT)
    max_stream_gaps: int = field(default=0, metadata=_COUNT)
    max_stream_duplicates: int = field(default=0, metadata=_COUNT)
    allow_unverifiable: bool = field(default=False, metadata=_FLAG)
    # unknown answers of these checks do not fail the verdict (their data depends on the target's metrics)
    allow_unknown: tuple[str, ...] = field(default=("detection", "resilience"), metadata=_CHECKS)
    # alerts and optional telemetry limits
    alert_critical_recovery_s: float = field(default=10.0, metadata=_AMOUNT)
    detection_max_s: float | None = field(default=None, metadata=_AMOUNT)
    max_retry_amplification: float | None = field(default=None, metadata=_AMOUNT)

    def availability_min_for(self, fault: str) -> float:
        """A repetition (`upstream-down#2`) has its fault's target."""
        from brownout.faults.kinds import base_fault_name

        own = self.availability_targets.get(fault, self.availability_targets.get(base_fault_name(fault)))
        return float(self.availability_min if own is None else own)

    def recovery_target_s(self, operation: str) -> float:
        return float(self.recovery_targets_s.get(operation, self.recovery_max_s))

    def fault_recovery_max_s(self, fault: str) -> float:
        """A fault's own recovery limit (by its name; repetitions "name#2" share it), else recovery_max_s."""
        return float(self.fault_recovery_targets_s.get(fault.split("#", 1)[0], self.recovery_max_s))

    def episode_recovery_max_s(self, faults: Iterable[str]) -> float:
        """Overlapping faults recover once, from the last heal: against the most lenient of their limits."""
        return max(self.fault_recovery_max_s(fault) for fault in faults)

    def p95_target_for(self, operation: str) -> float:
        return float(self.p95_targets_ms.get(operation, self.p95_target_ms))

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
