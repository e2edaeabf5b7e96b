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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
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
        per_scope = self.operations if scope_kind == "operation" else self.faults
        specific = per_scope.get(scope, {}).get(metric.name)
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


def load_tolerances(path: str | None) -> Tolerances:
    if path is None:
        return Tolerances()
    file = Path(path)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: tolerance file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read tolerance file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    return _parse(document, path)


def _parse(document: dict[str, Any], path: str) -> Tolerances:
    unknown = set(document) - {"default", "stats", "operations", "faults"}
    if unknown:
        raise InputError(
            f"{path}: unknown table(s) {', '.join(sorted(unknown))}; "
            'expected [default], [stats], [operations."NAME"], [faults."NAME"]'
        )
    default: dict[str, float] = {}
    overrides: dict[str, Allowance] = {}
    floors = dict(DEFAULT_FLOORS)
    min_tail = DEFAULT_MIN_TAIL_SAMPLES
    for key, value in _table(document, "default", path).items():
        where = f"{path}: [default] {key}"
        if key in floors:
            floors[key] = _number(value, where)
        elif key == "min_tail_samples":
            min_tail = _integer(value, where)
        elif key in METRICS:
            if isinstance(value, dict):
                overrides[key] = _allowance(value, METRICS[key], where)
            else:
                default[key] = _number(value, where)
        else:
            known = sorted(METRICS) + sorted(floors) + ["min_tail_samples"]
            raise InputError(f"{where}: unknown key; known keys: {', '.join(known)}")
    stats = _stats(_table(document, "stats", path), path, min_tail)
    base = Tolerances(default=default, floors=floors, overrides=overrides, stats=stats)
    operations = _scoped(document, "operations", path, base)
    faults = _scoped(document, "faults", path, base)
    return Tolerances(default, floors, operations, faults, overrides, stats, source=path)


def _scoped(document: dict[str, Any], table: str, path: str, base: Tolerances) -> dict[str, dict[str, Allowance]]:
    scoped: dict[str, dict[str, Allowance]] = {}
    for scope, entries in _table(document, table, path).items():
        where = f'{path}: [{table}."{scope}"]'
        if not isinstance(entries, dict):
            raise InputError(f'{where}: must be a table of metric = tolerance, e.g. [{table}."{scope}"] p95 = 0.2')
        if table == "faults" and base_fault_name(scope) != scope:
            raise InputError(
                f"{where}: faults are compared by name without the repetition mark: "
                f'write [faults."{base_fault_name(scope)}"]'
            )
        scoped[scope] = {}
        allowed = _SCOPE_METRICS[table]
        for key, value in entries.items():
            if key not in allowed:
                what = "unknown metric" if key not in METRICS else f"not a metric of {table}"
                raise InputError(f"{where} {key}: {what}; known: {', '.join(sorted(allowed))}")
            metric = METRICS[key]
            if isinstance(value, dict):
                scoped[scope][key] = _allowance(value, metric, f"{where} {key}")
            else:
                scoped[scope][key] = base._from_number(metric, _number(value, f"{where} {key}"))
    return scoped


def _allowance(value: dict[str, Any], metric: Metric, where: str) -> Allowance:
    unknown = set(value) - {"relative", "floor"}
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; use relative and/or floor")
    return Allowance(
        relative=_number(value.get("relative", 0.0), f"{where}.relative"),
        floor=_number(value.get("floor", 0.0), f"{where}.floor"),
    )


def _stats(table: dict[str, Any], path: str, min_tail: int) -> StatsSettings:
    unknown = set(table) - {"confidence", "replicates", "seed"}
    if unknown:
        raise InputError(
            f"{path}: [stats] unknown key(s) {', '.join(sorted(unknown))}; known: confidence, replicates, seed"
        )
    confidence = _number(table.get("confidence", 0.95), f"{path}: [stats] confidence")
    if not 0.5 <= confidence < 1.0:
        raise InputError(f"{path}: [stats] confidence must be within 0.5..0.999, got {confidence}")
    replicates = _integer(table.get("replicates", 1000), f"{path}: [stats] replicates")
    if not 100 <= replicates <= 100_000:
        raise InputError(f"{path}: [stats] replicates must be within 100..100000, got {replicates}")
    seed = _integer(table.get("seed", StatsSettings.seed), f"{path}: [stats] seed")
    return StatsSettings(confidence, replicates, seed, min_tail)


def _table(document: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise InputError(f"{path}: {name} must be a table ([{name}])")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: expected a number, got {value!r}")
    if math.isnan(value):
        raise InputError(f"{where}: expected a number, got nan")
    if value < 0:
        raise InputError(f"{where}: must not be negative, got {value}")
    return float(value)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: expected a whole number, got {value!r}")
    if value < 0:
        raise InputError(f"{where}: must not be negative, got {value}")
    return value
