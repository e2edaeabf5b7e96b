"""The metrics a comparison judges, which way is better for each, and their default tolerances.

The defaults are documented in README.md "Comparing releases"; a tolerance file overrides any of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Scopes a row can belong to: one Locust operation ("GET /x" or "Aggregated"), one fault of a brownout
# scenario (matched by fault name), or the run's data integrity.
OPERATION = "operation"
FAULT = "fault"
INTEGRITY = "integrity"
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class Metric:
    """One judged figure. `relative` says how a bare number in the tolerance file is read: as a fraction of
    the baseline (latencies, rates) or as an absolute amount in the metric's unit (ratios, counts)."""

    name: str
    unit: str
    higher_is_better: bool
    relative: bool
    default_tolerance: float
    floor_key: str = ""  # the [default] key holding the absolute floor that keeps tiny changes quiet
    quantile: float | None = None  # for percentiles: which one, so thin tails are not judged

    def describe(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        if self.unit == "ratio":
            return f"{value * 100:.2f} %"
        if self.unit == "ms":
            return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
        if self.unit == "s":
            return f"{value:.2f} s"
        if self.unit == "req/s":
            return f"{value:.1f}/s"
        if self.unit == "x":
            return f"{value:.2f}x"
        return f"{value:g}"

    def describe_delta(self, delta: float | None) -> str:
        if delta is None:
            return ""
        if self.unit == "ratio":
            return f"{delta * 100:+.2f} pp"
        if self.unit == "ms":
            return f"{delta:+.1f} ms"
        if self.unit == "s":
            return f"{delta:+.2f} s"
        if self.unit == "req/s":
            return f"{delta:+.1f}/s"
        if self.unit == "x":
            return f"{delta:+.2f}x"
        return f"{delta:+g}"


def _latency(name: str, quantile: float | None, tolerance: float) -> Metric:
    return Metric(name, "ms", False, True, tolerance, "latency_floor_ms", quantile)


NOT_GATED = math.inf

OPERATION_METRICS: tuple[Metric, ...] = (
    Metric("rps", "req/s", True, True, 0.10, "rps_floor"),
    Metric("error_ratio", "ratio", False, False, 0.01),
    _latency("p50", 0.50, 0.10),
    _latency("p95", 0.95, 0.10),
    _latency("p99", 0.99, 0.10),
    # A maximum is one request: pure noise between runs, so it is shown but judged only on request.
    _latency("max", None, NOT_GATED),
)

FAULT_METRICS: tuple[Metric, ...] = (
    # One fault window is one sample of each of these: they are judged with an interval over the windows
    # (repetitions of the fault, pooled runs), or with one window per side only beyond WIDE_FLOORS.
    Metric("availability", "ratio", True, False, 0.05),
    Metric("recovery_s", "s", False, True, 0.25, "time_floor_s"),
    Metric("detection_s", "s", False, True, 0.25, "time_floor_s"),
    Metric("amplification", "x", False, True, 0.10, "amplification_floor"),
)


def integrity_metric(name: str) -> Metric:
    return Metric(name, "count", False, False, 0.0)


# Integrity counts are exact: any increase of lost or duplicated data is a regression. Between the
# stream counts and `unverified_runs` come the kinds' violations, named after them (integrity_metrics).
INTEGRITY_METRICS: tuple[Metric, ...] = tuple(
    integrity_metric(name)
    for name in ("lost", "duplicated", "unverifiable", "stream_gaps", "stream_duplicates", "unverified_runs")
)
_VIOLATIONS_AT = len(INTEGRITY_METRICS) - 1


def violation_metric(violation: str) -> str:
    """The metric a violation is compared as: "half-done workflows" -> half_done_workflows."""
    return re.sub(r"[^0-9a-z]+", "_", violation.lower()).strip("_")


def integrity_metrics(violations: Iterable[str]) -> tuple[Metric, ...]:
    """The integrity rows in order, with one exact count per violation metric (names as violation_metric)."""
    fixed = {metric.name for metric in INTEGRITY_METRICS}
    extra = tuple(integrity_metric(name) for name in dict.fromkeys(violations) if name not in fixed)
    return INTEGRITY_METRICS[:_VIOLATIONS_AT] + extra + INTEGRITY_METRICS[_VIOLATIONS_AT:]


METRICS: dict[str, Metric] = {m.name: m for m in OPERATION_METRICS + FAULT_METRICS + INTEGRITY_METRICS}


@dataclass(frozen=True)
class WideFloor:
    """How far a fault figure must move for one window per side to be judged at all: by more than `delta`
    (in the metric's unit) and, when `factor` is set, to more than `factor` times (or less than 1/factor of)
    the baseline. Same-build pairs of one window each moved recovery 0.07 s -> 2.25 s, detection
    0.65 s -> 3.10 s, availability 97.1 % -> 91.7 %, amplification 1.00x -> 1.20x; these floors are well
    beyond that, so only gross changes (a breaker that never closes, a retry storm) are caught."""

    delta: float
    factor: float | None = None

    def describe(self, metric: Metric) -> str:
        shown = metric.describe_delta(self.delta)
        return shown if self.factor is None else f"x{self.factor:g} and {shown}"

    def direction(self, metric: Metric, base: float, new: float) -> int:
        """1: worse beyond the floor, -1: better beyond it, 0: within."""
        high, low = max(base, new), min(base, new)
        if high - low <= self.delta or (self.factor is not None and high <= self.factor * low):
            return 0
        return 1 if (new > base) != metric.higher_is_better else -1


WIDE_FLOORS: dict[str, WideFloor] = {
    "availability": WideFloor(0.20),
    "recovery_s": WideFloor(5.0, 3.0),
    "detection_s": WideFloor(5.0, 3.0),
    "amplification": WideFloor(1.0, 2.0),
}

# Absolute floors (in the metric's unit) and the thin-tail rule, all overridable under [default].
DEFAULT_FLOORS: dict[str, float] = {
    "latency_floor_ms": 2.0,
    "rps_floor": 0.0,
    # Fault times are judged only with an interval over windows, so 1 s is a real change, not one noisy window.
    "time_floor_s": 1.0,
    "amplification_floor": 0.1,
}
# A percentile is judged only when at least this many requests lie beyond it on both sides; fewer
# make p99 of a few hundred requests one or two unlucky requests.
DEFAULT_MIN_TAIL_SAMPLES = 10
