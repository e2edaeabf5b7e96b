"""Tolerances per metric, per operation and per fault, read from a TOML file over documented defaults.

```toml
[default]
p95 = 0.10              # relative to the baseline (latencies, rps, times, amplification)
error_ratio = 0.01      # absolute for ratios and counts: +1 percentage point
latency_floor_ms = 2.0  # a latency change smaller than this is never a regression
[stats]
confidence = 0.95
[operations."GET /x"]
p95 = 0.2
[faults."upstream-down"]
recovery_s = { relative = 0.5, floor = 2.0 }
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from brownout.compare.metrics import (
    DEFAULT_FLOORS,
    DEFAULT_MIN_TAIL_SAMPLES,
    FAULT_METRICS,
    METRICS,
    OPERATION_METRICS,
    Metric,
)
from brownout.errors import InputError
from brownout.faults.kinds import base_fault_name
from brownout.inputs import Field, TomlTable, for_operation, load_toml, suggest, unmatched_operation

_AMOUNT = Field("number", minimum=0)  # a tolerance or a floor; inf: not judged
_SCOPE_METRICS = {
    "operations": {m.name for m in OPERATION_METRICS},
    "faults": {m.name for m in FAULT_METRICS},
}


@dataclass(frozen=True)
class Allowance:
    """How far a metric may move in the bad direction before it counts: the larger of `relative` times the
    baseline and `floor` (in the metric's unit)."""

    relative: float = 0.0
    floor: float = 0.0

    def allowed(self, baseline: float) -> float:
        return max(self.relative * abs(baseline), self.floor)

    def describe(self, metric: Metric) -> str:
        if math.isinf(self.relative) or math.isinf(self.floor):
            return "not judged"
        parts = []
        if self.relative:
            parts.append(f"{self.relative * 100:g} %")
        if self.floor or not parts:
            parts.append(metric.describe_delta(self.floor).lstrip("+"))
        return " or ".join(parts)


@dataclass(frozen=True)
class StatsSettings:
    confidence: float = 0.95
    replicates: int = 1000
    seed: int = 20240601
    min_tail_samples: int = DEFAULT_MIN_TAIL_SAMPLES


@dataclass(frozen=True)
class Tolerances:
    default: dict[str, float] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FLOORS))
    operations: dict[str, dict[str, Allowance]] = field(default_factory=dict)
    faults: dict[str, dict[str, Allowance]] = field(default_factory=dict)
    overrides: dict[str, Allowance] = field(default_factory=dict)
    stats: StatsSettings = field(default_factory=StatsSettings)
    source: str = "defaults"

    def allowance(self, metric: Metric, scope_kind: str, scope: str) -> Allowance:
        # An operation by Locust's "TYPE name" or by its name alone, as in [criteria] (brownout.inputs).
        per_scope = for_operation(self.operations, scope) if scope_kind == "operation" else self.faults.get(scope)
        specific = (per_scope or {}).get(metric.name)
        if specific is not None:
            return specific
        if metric.name in self.overrides:
            return self.overrides[metric.name]
        return self._from_number(metric, self.default.get(metric.name, metric.default_tolerance))

    def _from_number(self, metric: Metric, number: float) -> Allowance:
        floor = self.floors.get(metric.floor_key, 0.0) if metric.floor_key else 0.0
        if metric.relative:
            return Allowance(relative=number, floor=math.inf if math.isinf(number) else floor)
        return Allowance(relative=0.0, floor=number)


def unmatched(tolerances: Tolerances, operations: list[str], faults: list[str]) -> tuple[str, ...]:
    """Warnings for the file's [operations."X"] / [faults."X"] that name nothing either side has: a typo
    there silently leaves the defaults in force."""
    where = tolerances.source
    warnings = [
        f'{where}: [operations."{key}"]: {why}'
        for key in tolerances.operations
        if (why := unmatched_operation(key, operations, of="either side")) is not None
    ]
    for key in tolerances.faults:
        if key not in faults:
            hint = suggest(key, faults)
            warnings.append(f'{where}: [faults."{key}"]: names no fault of either side{f" ({hint})" if hint else ""}')
    return tuple(warnings)


def load_tolerances(path: str | None) -> Tolerances:
    if path is None:
        return Tolerances()
    return _parse(load_toml(path, "tolerance file"), path)


def _parse(document: dict[str, Any], path: str) -> Tolerances:
    top = TomlTable(document, file=path, where="")
    top.only("default", "stats", "operations", "faults", noun="table")
    defaults = _defaults(_section(top, "default"))
    stats = _stats(_section(top, "stats"), defaults.min_tail_samples)
    base = Tolerances(default=defaults.numbers, floors=defaults.floors, overrides=defaults.overrides, stats=stats)
    operations = _scoped(_section(top, "operations"), "operations", base)
    faults = _scoped(_section(top, "faults"), "faults", base)
    return Tolerances(defaults.numbers, defaults.floors, operations, faults, defaults.overrides, stats, source=path)


def _section(top: TomlTable, name: str) -> TomlTable:
    return TomlTable(top.raw(name, {}), file=top.file, where=f"[{name}]")


@dataclass(frozen=True)
class _Defaults:
    """The [default] table: tolerances by metric (a number, or an Allowance), latency floors, the tail size."""

    numbers: dict[str, float]
    overrides: dict[str, Allowance]
    floors: dict[str, float]
    min_tail_samples: int


def _defaults(table: TomlTable) -> _Defaults:
    floors = dict(DEFAULT_FLOORS)
    table.only(*METRICS, *floors, "min_tail_samples", noun="key")
    numbers: dict[str, float] = {}
    overrides: dict[str, Allowance] = {}
    for key in table.keys():  # noqa: SIM118 (a TomlTable, not a dict)
        if key in floors:
            floors[key] = table.read(key, _AMOUNT)
        elif key in METRICS:
            tolerance = _tolerance(table, key)
            if isinstance(tolerance, Allowance):
                overrides[key] = tolerance
            else:
                numbers[key] = tolerance
    min_tail = table.integer("min_tail_samples", minimum=0, default=DEFAULT_MIN_TAIL_SAMPLES)
    assert min_tail is not None
    return _Defaults(numbers, overrides, floors, min_tail)


def _scoped(section: TomlTable, name: str, base: Tolerances) -> dict[str, dict[str, Allowance]]:
    return {scope: _scope(section, name, scope, base) for scope in section.keys()}  # noqa: SIM118


def _scope(section: TomlTable, name: str, scope: str, base: Tolerances) -> dict[str, Allowance]:
    """One [operations."NAME"] or [faults."NAME"] table: metric = tolerance, for this scope's metrics."""
    where = f'[{name}."{scope}"]'
    entries = section.raw(scope)
    if not isinstance(entries, dict):
        raise InputError(
            f'{section.file}: {where}: must be a table of metric = tolerance, e.g. [{name}."{scope}"] p95 = 0.2'
        )
    if name == "faults" and base_fault_name(scope) != scope:
        raise InputError(
            f"{section.file}: {where}: faults are compared by name without the repetition mark: "
            f'write [faults."{base_fault_name(scope)}"]'
        )
    table = TomlTable(entries, file=section.file, where=where)
    allowed = _SCOPE_METRICS[name]
    for key in table.keys():  # noqa: SIM118 (a TomlTable, not a dict)
        if key in METRICS and key not in allowed:
            raise table.error(key, f"not a metric of {name}; known: {', '.join(sorted(allowed))}")
    table.only(*allowed, noun="metric")
    scoped: dict[str, Allowance] = {}
    for key in table.keys():  # noqa: SIM118 (a TomlTable, not a dict)
        tolerance = _tolerance(table, key)
        scoped[key] = tolerance if isinstance(tolerance, Allowance) else base._from_number(METRICS[key], tolerance)
    return scoped


def _tolerance(table: TomlTable, key: str) -> float | Allowance:
    """`p95 = 0.2` (read against the metric's defaults later) or `p95 = { relative = 0.2, floor = 5 }`."""
    if not isinstance(table.raw(key), dict):
        number: float = table.read(key, _AMOUNT)
        return number
    allowance = table.table(key)
    assert allowance is not None
    allowance.only("relative", "floor")
    return Allowance(
        relative=allowance.number("relative", minimum=0, default=0.0) or 0.0,
        floor=allowance.number("floor", minimum=0, default=0.0) or 0.0,
    )


def _stats(table: TomlTable, min_tail: int) -> StatsSettings:
    table.only("confidence", "replicates", "seed")
    confidence = table.number("confidence", default=0.95)
    assert confidence is not None
    if not 0.5 <= confidence < 1.0:
        raise table.error("confidence", f"must be within 0.5..0.999, got {confidence}")
    replicates = table.integer("replicates", minimum=100, maximum=100_000, default=1000)
    seed = table.integer("seed", minimum=0, default=StatsSettings.seed)
    assert replicates is not None and seed is not None
    return StatsSettings(confidence, replicates, seed, min_tail)
