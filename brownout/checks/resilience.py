"""Resilience telemetry per fault: retry amplification, breaker transitions, outbox backlog and drain time.

- Retry amplification = increase of `gateway_retry_attempts_total` / increase of
  `gateway_dependency_calls_total` (all outcomes) during the fault, per dependency (1.0 = no retries).
- Breaker transitions: increase of `gateway_breaker_transitions_total` per (dependency, to) from the fault's
  start until the next fault starts (or the run ends), so closing after the heal is counted too.
- Outbox: depth before the fault, its peak, and the drain time: from the heal until the depth is back at or
  below its pre-fault level (None = not drained before the next fault / end of run).
Informational unless `max_retry_amplification` is set; unknown without telemetry.
"""

from __future__ import annotations

from typing import Any

from brownout.checks.counters import first_time, increase, maximum
from brownout.checks.criteria import Criteria
from brownout.checks.result import CheckResult, Status
from brownout.checks.windows import FaultWindow, fault_windows, run_span
from brownout.history import History, Telemetry

RETRY_ATTEMPTS = "gateway_retry_attempts_total"
DEPENDENCY_CALLS = "gateway_dependency_calls_total"
BREAKER_TRANSITIONS = "gateway_breaker_transitions_total"
OUTBOX_DEPTH = "gateway_outbox_depth"
METRICS = (RETRY_ATTEMPTS, DEPENDENCY_CALLS, BREAKER_TRANSITIONS, OUTBOX_DEPTH)


def _sum_increase(telemetry: Telemetry, metric: str, start: float, end: float, **labels: str) -> float | None:
    grown = [increase(s, start, end) for s in telemetry.select(metric, **labels)]
    known = [g for g in grown if g is not None]
    return sum(known) if known else None


def amplification(telemetry: Telemetry, start: float, end: float) -> dict[str, dict[str, float | None]]:
    result: dict[str, dict[str, float | None]] = {}
    dependencies = sorted({s.labels.get("dependency", "") for s in telemetry.select(RETRY_ATTEMPTS)})
    for dependency in dependencies:
        attempts = _sum_increase(telemetry, RETRY_ATTEMPTS, start, end, dependency=dependency)
        calls = _sum_increase(telemetry, DEPENDENCY_CALLS, start, end, dependency=dependency)
        ratio = attempts / calls if attempts is not None and calls else None
        result[dependency] = {"attempts": attempts, "calls": calls, "amplification": ratio}
    return result


def transitions(telemetry: Telemetry, start: float, end: float) -> dict[str, float]:
    counted: dict[str, float] = {}
    for series in telemetry.select(BREAKER_TRANSITIONS):
        grown = increase(series, start, end)
        if grown:
            key = f"{series.labels.get('dependency', '?')}->{series.labels.get('to', '?')}"
            counted[key] = counted.get(key, 0.0) + grown
    return counted


def outbox(telemetry: Telemetry, window: FaultWindow, until: float) -> dict[str, Any] | None:
    depth = telemetry.select(OUTBOX_DEPTH)
    if not depth:
        return None
    series = depth[0]
    before = series.value_at(window.start) or 0.0
    peak = maximum(series, window.start, until)
    drained_at = None
    if window.heal is not None:
        drained_at = first_time(series, window.heal, until, lambda value: value <= before)
    return {
        "before": before,
        "peak": peak,
        "drain_s": None if drained_at is None or window.heal is None else max(0.0, drained_at - window.heal),
    }


def check_resilience(history: History, criteria: Criteria) -> CheckResult:
    telemetry = history.telemetry
    if telemetry is None:
        return CheckResult(
            "resilience", Status.UNKNOWN, "no telemetry.csv", ("no telemetry.csv in the results",)
        )
    if not telemetry.metrics & set(METRICS):
        why = f"telemetry has none of {', '.join(METRICS)}"
        return CheckResult("resilience", Status.UNKNOWN, why, (why,))
    windows = fault_windows(history)
    _, run_end = run_span(history)
    faults: list[dict[str, Any]] = []
    reasons: list[str] = []
    statuses: list[Status] = []
    for index, window in enumerate(windows):
        until = windows[index + 1].start if index + 1 < len(windows) else run_end
        amplified = amplification(telemetry, window.start, window.end)
        limit = criteria.max_retry_amplification
        for dependency, figures in amplified.items():
            ratio = figures["amplification"]
            if limit is not None and ratio is not None and ratio > limit:
                statuses.append(Status.FAIL)
                reasons.append(f"{window.label}: retry amplification to {dependency} {ratio:.2f} > {limit:g}")
        faults.append(
            {
                "fault": window.label,
                "retries": amplified,
                "breaker_transitions": transitions(telemetry, window.start, until),
                "outbox": outbox(telemetry, window, until),
            }
        )
    ratios = [
        d["amplification"] for f in faults for d in f["retries"].values() if d["amplification"] is not None
    ]  # fmt: skip
    peak = f"peak retry amplification {max(ratios):.2f}" if ratios else "no retry figures"
    return CheckResult(
        "resilience",
        Status.worst(statuses),
        f"{len(faults)} fault(s); {peak}",
        tuple(reasons),
        {"faults": faults},
    )
