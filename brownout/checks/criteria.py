"""Pass/fail thresholds: a scenario's [criteria] table, validated, with the defaults of the requirements."""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from brownout.errors import InputError

CHECK_NAMES = ("faults", "availability", "recovery", "detection", "load", "integrity", "resilience")


@dataclass(frozen=True)
class Criteria:
    # availability during each fault window: (ok + degraded) / all
    availability_min: float = 0.60
    availability_targets: Mapping[str, float] = field(default_factory=dict)  # fault name -> its own minimum
    # recovery: heal -> back inside the pre-fault band for a sustained window
    recovery_max_s: float = 30.0
    recovery_pairs_within_target_min: float = 0.80
    recovery_targets_s: Mapping[str, float] = field(default_factory=dict)  # operation -> s
    fault_recovery_targets_s: Mapping[str, float] = field(default_factory=dict)  # fault name -> its own max s
    recovery_sustain_s: float = 2.0
    recovery_min_requests: int = 5
    recovery_error_ratio_margin: float = 0.05
    recovery_degraded_margin: float = 0.05
    recovery_p95_factor: float = 1.5
    recovery_p95_slack_ms: float = 20.0
    baseline_window_s: float = 10.0
    baseline_min_requests: int = 20
    fallback_error_ratio_max: float = 0.05  # the band when no baseline can be measured
    # operations made only when a user starts (e.g. "POST /threads"): too sparse to time a recovery or a
    # load step by; recovery and load leave them out
    setup_operations: tuple[str, ...] = ()
    # rising load
    p95_target_ms: float = 1000.0
    p95_targets_ms: Mapping[str, float] = field(default_factory=dict)  # operation -> ms
    knee_min_throughput_gain: float = 0.5
    error_ratio_max: float = 0.05  # a load step's error ratio outside fault windows
    # a p95 is judged only when at least this many requests lie above it (5 -> 100 requests): the p95 of
    # twenty requests is their slowest one, which a single stray request sets
    p95_min_tail_requests: int = 5
    # integrity
    max_lost: int = 0
    max_duplicated: int = 0
    max_stream_gaps: int = 0
    max_stream_duplicates: int = 0
    allow_unverifiable: bool = False
    # unknown answers of these checks do not fail the verdict (their data depends on the target's metrics)
    allow_unknown: tuple[str, ...] = ("detection", "resilience")
    # alerts and optional telemetry limits
    alert_critical_recovery_s: float = 10.0
    detection_max_s: float | None = None
    max_retry_amplification: float | None = None

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
    def from_mapping(cls, mapping: Mapping[str, Any], source: str = "[criteria]") -> Criteria:
        """Validate a [criteria] table; unknown keys and wrong types raise InputError naming source, field."""
        if not isinstance(mapping, Mapping):
            raise InputError(f"{source}: [criteria] must be a table, got {type(mapping).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
                raise InputError(f"{source}: criteria.{key}: unknown criterion ({hint})")
            values[key] = _convert(source, key, known[key].type, value)
        return cls(**values)


def _number(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{source}: criteria.{key}: expected a number, got {value!r}")
    return float(value)


def _convert(source: str, key: str, kind: object, value: Any) -> Any:
    where = f"{source}: criteria.{key}"
    if kind in ("float", "float | None"):
        if value is None and kind == "float | None":
            return None
        number = _number(source, key, value)
        if number < 0:
            raise InputError(f"{where}: must not be negative, got {value!r}")
        if (key.endswith("_min") or key.endswith("_margin") or key.endswith("ratio_max")) and number > 1:
            raise InputError(f"{where}: is a ratio, expected 0..1, got {value!r}")
        return number
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{where}: expected a non-negative integer, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind == "Mapping[str, float]":
        if not isinstance(value, Mapping):
            raise InputError(f"{where}: expected a table of operation = number, got {value!r}")
        converted = {}
        for operation, item in value.items():
            converted[str(operation)] = _number(source, f"{key}.{operation}", item)
        return converted
    if kind == "tuple[str, ...]" and key == "setup_operations":
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item for item in value):
            raise InputError(f"{where}: expected a list of operations like \"POST /threads\", got {value!r}")
        return tuple(value)
    if kind == "tuple[str, ...]":
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise InputError(f"{where}: expected a list of check names, got {value!r}")
        unknown = [item for item in value if item not in CHECK_NAMES]
        if unknown:
            raise InputError(f"{where}: unknown check {unknown[0]!r} (checks: {', '.join(CHECK_NAMES)})")
        return tuple(value)
    raise AssertionError(f"criteria field {key} has an unhandled type {kind!r}")  # a bug, not user input
