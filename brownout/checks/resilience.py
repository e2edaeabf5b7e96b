"""Resilience telemetry per fault: retry amplification, breaker transitions, fallbacks, outbox drain.

Metric names come from the scenario's [metrics] table (brownout/checks/metric_names.py), defaulting to the
sample target's `gateway_*` names.
- Retry amplification = increase of the retry-attempts counter / increase of the dependency-calls counter
  (all outcomes) during the fault, per dependency (1.0 = no retries).
- Breaker transitions: increase of the transitions counter per (dependency, state) from the fault's start
  until the next fault starts (or the run ends), so closing after the heal is counted too.
- Fallbacks: increase of the fallbacks counter during the fault.
- Outbox: depth before the fault, its peak, and the drain time: from the heal until the depth is back at or
  below its pre-fault level. Not drained before the next fault or the end of the run is censored: the
  figures say how long it was observed (`drain_observed_s`), never that it failed to drain.
Informational unless `max_retry_amplification` is set; unknown without telemetry.
"""

from __future__ import annotations

from typing import Any

from brownout.checks.counters import first_time, increase, maximum
from brownout.checks.criteria import Criteria
from brownout.checks.findings import Findings
from brownout.checks.metric_names import MetricNames, metric_names, missing_metric
from brownout.checks.result import CheckResult, Status
from brownout.checks.windows import FaultWindow, fault_windows, run_span
from brownout.history import History, Telemetry


def _sum_increase(telemetry: Telemetry, metric: str, start: float, end: float, **labels: str) -> float | None:
    grown = [increase(s, start, end) for s in telemetry.select(metric, **labels)]
    known = [g for g in grown if g is not None]
    return sum(known) if known else None


def amplification(
    telemetry: Telemetry, start: float, end: float, names: MetricNames | None = None
) -> dict[str, dict[str, float | None]]:
    names = names or MetricNames()
    label = names.dependency_label
    result: dict[str, dict[str, float | None]] = {}
    dependencies = sorted({s.labels.get(label, "") for s in telemetry.select(names.retry_attempts)})
    for dependency in dependencies:
        attempts = _sum_increase(telemetry, names.retry_attempts, start, end, **{label: dependency})
        calls = _sum_increase(telemetry, names.dependency_calls, start, end, **{label: dependency})
        ratio = attempts / calls if attempts is not None and calls else None
        result[dependency] = {"attempts": attempts, "calls": calls, "amplification": ratio}
    return result


def transitions(
    telemetry: Telemetry, start: float, end: float, names: MetricNames | None = None
) -> dict[str, float]:
    names = names or MetricNames()
    counted: dict[str, float] = {}
    for series in telemetry.select(names.breaker_transitions):
        grown = increase(series, start, end)
        if grown:
            dependency = series.labels.get(names.dependency_label, "?")
            key = f"{dependency}->{series.labels.get(names.transition_label, '?')}"
            counted[key] = counted.get(key, 0.0) + grown
    return counted


def outbox(
    telemetry: Telemetry, window: FaultWindow, until: float, names: MetricNames | None = None
) -> dict[str, Any] | None:
    depth = telemetry.select((names or MetricNames()).outbox_depth)
    if not depth:
        return None
    series = depth[0]
    before = series.value_at(window.start) or 0.0
    peak = maximum(series, window.start, until)
    drained_at = None
    if window.heal is not None:
        drained_at = first_time(series, window.heal, until, lambda value: value <= before)
    observed = None if window.heal is None else max(0.0, until - window.heal)
    return {
        "before": before,
        "peak": peak,
        "drain_s": None if drained_at is None or window.heal is None else max(0.0, drained_at - window.heal),
        "drain_observed_s": observed,
        "drain_censored": window.heal is not None and drained_at is None,
    }


def _fault_figures(
    telemetry: Telemetry, window: FaultWindow, until: float, names: MetricNames
) -> dict[str, Any]:
    return {
        "fault": window.label,
        "retries": amplification(telemetry, window.start, window.end, names),
        "breaker_transitions": transitions(telemetry, window.start, until, names),
        "fallbacks": _sum_increase(telemetry, names.fallbacks, window.start, window.end),
        "outbox": outbox(telemetry, window, until, names),
    }


def check_resilience(history: History, criteria: Criteria) -> CheckResult:
    telemetry = history.telemetry
    if telemetry is None:
        return CheckResult(
            "resilience", Status.UNKNOWN, "no telemetry.csv", ("no telemetry.csv in the results",)
        )
    names = metric_names(history)
    wanted = (names.retry_attempts, names.dependency_calls, names.breaker_transitions, names.outbox_depth)
    if not telemetry.metrics & set(wanted):
        why = missing_metric(history, names, "retry, breaker or outbox", ", ".join(wanted))
        return CheckResult("resilience", Status.UNKNOWN, why, (why,))
    windows = fault_windows(history)
    _, run_end = run_span(history)
    findings = Findings()
    faults: list[dict[str, Any]] = []
    limit = criteria.max_retry_amplification
    for index, window in enumerate(windows):
        until = windows[index + 1].start if index + 1 < len(windows) else run_end
        figures = _fault_figures(telemetry, window, until, names)
        for dependency, retries in figures["retries"].items():
            ratio = retries["amplification"]
            if limit is not None and ratio is not None and ratio > limit:
                findings.fail(f"{window.label}: retry amplification to {dependency} {ratio:.2f} > {limit:g}")
        faults.append(figures)
    ratios = [
        d["amplification"] for f in faults for d in f["retries"].values() if d["amplification"] is not None
    ]  # fmt: skip
    peak = f"peak retry amplification {max(ratios):.2f}" if ratios else "no retry figures"
    return findings.result("resilience", f"{len(faults)} fault(s); {peak}", {"faults": faults})
