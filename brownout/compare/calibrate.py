"""`brownout calibrate RUN RUN RUN ... --out tolerance.toml`: tolerances from the measured spread of
several runs of one build, per operation and per fault, in the format `brownout compare --tolerance` reads.

Each run is read as one side of a comparison would be (so a fault's figure is the mean over its windows
in that run). For every (scope, metric) seen in at least MIN_RUNS runs:

    spread = max(3 * sqrt(2) * sd, 1.5 * (max - min))     over the runs' values

3 * sqrt(2) * sd is three standard deviations of the difference between two runs of the build; with few
runs the sd is itself uncertain, hence the observed range, widened by half, as a second lower bound. A
relative metric (latencies, rps, times, amplification) gets spread / median as its relative tolerance;
an absolute one (error ratio, availability) gets the spread itself. A tolerance is never tighter than the
default: the defaults are the smallest change worth failing a build over, and the intervals already
judge the noise within a run. Metrics shown but not judged by default (`max`) and integrity counts (any
loss is a regression) are left out.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from brownout.compare.figures import Key
from brownout.compare.metrics import FAULT, INTEGRITY, METRICS, OPERATION, Metric
from brownout.compare.sources import SideSources
from brownout.compare.tolerance import StatsSettings, Tolerances
from brownout.errors import InputError

MIN_RUNS = 3
SD_FACTOR = 3.0 * math.sqrt(2.0)
RANGE_FACTOR = 1.5


@dataclass(frozen=True)
class Calibrated:
    """One tolerance line: the measured values, and the tolerance written for them."""

    scope_kind: str
    scope: str
    metric: Metric
    values: tuple[float, ...]
    tolerance: float  # relative (fraction of the baseline) or absolute, as the metric reads a bare number
    absolute: bool = False  # a relative metric with a zero median: written as { relative = 0, floor = x }

    @property
    def spread(self) -> float:
        return measured_spread(self.values)


def measured_spread(values: Sequence[float]) -> float:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return max(SD_FACTOR * sd, RANGE_FACTOR * (max(values) - min(values)))


def calibrate(per_run: list[dict[Key, float]], defaults: Tolerances | None = None) -> list[Calibrated]:
    """Tolerances from the values of several runs (one dict per run: (scope kind, scope, metric) -> value)."""
    defaults = defaults or Tolerances()
    keys = sorted({key for run in per_run for key in run})
    calibrated = []
    for scope_kind, scope, name in keys:
        if scope_kind == INTEGRITY:  # exact counts, never calibrated (and violations are not in METRICS)
            continue
        metric = METRICS[name]
        default = metric.default_tolerance
        if math.isinf(default):
            continue
        values = tuple(run[(scope_kind, scope, name)] for run in per_run if (scope_kind, scope, name) in run)
        if len(values) < MIN_RUNS:
            continue
        spread = measured_spread(values)
        if not metric.relative:
            calibrated.append(Calibrated(scope_kind, scope, metric, values, max(spread, default)))
            continue
        middle = abs(statistics.median(values))
        if middle > 0:
            calibrated.append(Calibrated(scope_kind, scope, metric, values, max(spread / middle, default)))
        else:
            floor = defaults.floors.get(metric.floor_key, 0.0) if metric.floor_key else 0.0
            calibrated.append(Calibrated(scope_kind, scope, metric, values, max(spread, floor), absolute=True))
    return calibrated


def render_toml(calibrated: list[Calibrated], sources: Sequence[str]) -> str:
    lines = [
        f"# Tolerances calibrated by `brownout calibrate` from {len(sources)} runs of one build:",
        *(f"#   {source}" for source in sources),
        "# tolerance = max(3 * sqrt(2) * sd, 1.5 * (max - min)) of the runs' values, relative to their median",
        "# for relative metrics, never tighter than the defaults. Use: brownout compare --tolerance THIS_FILE",
    ]
    for scope_kind, table in ((OPERATION, "operations"), (FAULT, "faults")):
        scopes = sorted({c.scope for c in calibrated if c.scope_kind == scope_kind})
        for scope in scopes:
            lines += ["", f"[{table}.{json.dumps(scope)}]"]
            for item in (c for c in calibrated if c.scope_kind == scope_kind and c.scope == scope):
                lines.append(_line(item))
    return "\n".join(lines) + "\n"


def _line(item: Calibrated) -> str:
    metric = item.metric
    shown = ", ".join(metric.describe(v) for v in item.values)
    value = f"{{ relative = 0.0, floor = {_number(item.tolerance)} }}" if item.absolute else _number(item.tolerance)
    kind = "absolute" if item.absolute or not metric.relative else "relative"
    return f"{metric.name} = {value}  # {kind}; runs: {shown}"


def _number(value: float) -> str:
    # Rounded up, so the written tolerance is never below the calibrated one.
    return repr(math.ceil(value * 10_000) / 10_000)


def calibrate_runs(sources: SideSources) -> list[Calibrated]:
    """Tolerances from the spread of several runs of one build; InputError for fewer than MIN_RUNS."""
    if len(sources.runs) < MIN_RUNS:
        raise InputError(
            f"calibration needs at least {MIN_RUNS} runs of the same build, got {len(sources.runs)}: "
            "the spread of fewer says nothing"
        )
    return calibrate([_values(SideSources(f"run {index}", (run,))) for index, run in enumerate(sources.runs)])


def _values(side: SideSources) -> dict[Key, float]:
    from brownout.compare.comparison import load_side  # the compare package's reader, once per run

    figures = load_side(side, StatsSettings(replicates=100)).figures
    return {key: figure.value for key, figure in figures.items() if figure.value is not None}
