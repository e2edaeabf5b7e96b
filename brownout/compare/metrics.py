"""The metrics a comparison judges, which way is better for each, and their default tolerances.

The defaults are documented in README.md "Comparing releases"; a tolerance file overrides any of them.
"""

from __future__ import annotations

import math
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
    # One fault window is one sample of each of these: defaults are wider than for request latencies.
    Metric("availability", "ratio", True, False, 0.05),
    Metric("recovery_s", "s", False, True, 0.25, "time_floor_s"),
    Metric("detection_s", "s", False, True, 0.25, "time_floor_s"),
    Metric("amplification", "x", False, True, 0.10, "amplification_floor"),
)

# Integrity counts are exact: any increase of lost or duplicated data is a regression.
INTEGRITY_METRICS: tuple[Metric, ...] = tuple(
    Metric(name, "count", False, False, 0.0)
    for name in (
        "lost", "duplicated", "unverifiable", "stream_gaps", "stream_duplicates",
        "half_done_workflows", "leaked_reservations", "unverified_runs",
    )
)  # fmt: skip

METRICS: dict[str, Metric] = {m.name: m for m in OPERATION_METRICS + FAULT_METRICS + INTEGRITY_METRICS}

# Absolute floors (in the metric's unit) and the thin-tail rule, all overridable under [default].
DEFAULT_FLOORS: dict[str, float] = {
    "latency_floor_ms": 2.0,
    "rps_floor": 0.0,
    "time_floor_s": 2.0,
    "amplification_floor": 0.1,
}
# A percentile is judged only when at least this many requests lie beyond it on both sides; fewer
# make p99 of a few hundred requests one or two unlucky requests.
DEFAULT_MIN_TAIL_SAMPLES = 10
