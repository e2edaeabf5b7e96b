"""Detection: how long after each fault started a breaker opened (telemetry) and degraded answers appeared
(timeline). Informational unless `detection_max_s` is set; a breaker opening raises a warning alert.

The breaker metrics are the scenario's [metrics] names (the sample target's by default). Detection is
looked for inside the fault window: a fault shorter than `detection_max_s` in which nothing was detected is
censored (unknown: it did not last long enough to say), not failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brownout.checks.counters import first_time
from brownout.checks.criteria import Criteria
from brownout.checks.findings import Findings
from brownout.checks.metric_names import MetricNames, metric_names, missing_metric
from brownout.checks.result import Alert, AlertLevel, CheckResult, Status
from brownout.checks.windows import FaultWindow, fault_windows
from brownout.history import History, Telemetry


def first_degraded(history: History, window: FaultWindow) -> float | None:
    """Seconds from the fault's start to the first bucket with a degraded answer during the fault."""
    series = history.timeline.all_operations()
    for i in series.index_range(window.start, window.end):
        if series.degraded[i]:
            return max(0.0, series.times[i] - window.start)
    return None


def breaker_openings(
    telemetry: Telemetry, window: FaultWindow, names: MetricNames | None = None
) -> dict[str, float]:
    """dependency -> seconds from the fault's start until its breaker was seen open (state sample, or an
    increase of the transitions counter to open between two scrapes)."""
    names = names or MetricNames()
    opened: dict[str, float] = {}
    for series in telemetry.select(names.breaker_state):
        seen = first_time(series, window.start, window.end, lambda value: value == names.breaker_open_value)
        if seen is not None:
            opened[series.labels.get(names.dependency_label, "?")] = seen - window.start
    to_open = {names.transition_label: names.open_state}
    for series in telemetry.select(names.breaker_transitions, **to_open):
        # A counter first scraped during the fault (process started or restarted) counts from zero.
        seen = first_time(series, window.start, window.end, _above(series.value_at(window.start) or 0.0))
        if seen is not None:
            dependency = series.labels.get(names.dependency_label, "?")
            delay = max(0.0, seen - window.start)
            opened[dependency] = min(opened.get(dependency, delay), delay)
    return opened


def _above(base: float) -> Callable[[float], bool]:
    return lambda value: value > base


def _judge_window(window: FaultWindow, first: float | None, limit: float | None, findings: Findings) -> None:
    if limit is None or (first is not None and first <= limit):
        return
    observed = window.end - window.start
    if first is None and observed < limit:
        why = f"observed {observed:.1f} s of the {limit:g} s allowed: the fault ended"
        findings.unknown(
            f"{window.label}: not detected ({why})",
            Alert(AlertLevel.INFO, window.end, window.label, f"detection not observed: {why}"),
        )
        return
    shown = "never" if first is None else f"after {first:.1f} s"
    findings.fail(f"{window.label}: detected {shown} (max {limit:g} s)")


def check_detection(history: History, criteria: Criteria) -> CheckResult:
    windows = fault_windows(history)
    if not windows:
        return CheckResult("detection", Status.PASS, "no faults were injected: nothing to detect")
    names = metric_names(history)
    telemetry = history.telemetry
    has_breakers = telemetry is not None and bool(
        telemetry.select(names.breaker_state) or telemetry.select(names.breaker_transitions)
    )
    findings = Findings()
    faults: list[dict[str, Any]] = []
    for window in windows:
        degraded_s = first_degraded(history, window)
        opened = breaker_openings(telemetry, window, names) if telemetry is not None and has_breakers else {}
        for dependency, delay in sorted(opened.items()):
            message = f"breaker {dependency} opened after {delay:.1f} s"
            findings.alert(Alert(AlertLevel.WARNING, window.start + delay, window.label, message))
        first_breaker = min(opened.values(), default=None)
        first = min((s for s in (first_breaker, degraded_s) if s is not None), default=None)
        _judge_window(window, first, criteria.detection_max_s, findings)
        faults.append(
            {
                "fault": window.label,
                "start": window.start,
                "breaker_open_s": first_breaker,
                "breakers": opened,
                "degraded_s": degraded_s,
                "observed_s": window.end - window.start,
            }
        )
    if not has_breakers:
        why = missing_metric(history, names, "breaker", names.breaker_state) if telemetry else "no telemetry.csv"
        findings.unknown(f"breaker detection unknown: {why}")
    opened_count = sum(1 for f in faults if f["breaker_open_s"] is not None)
    degraded_count = sum(1 for f in faults if f["degraded_s"] is not None)
    summary = (
        f"{len(faults)} fault(s): a breaker opened in {opened_count}, "
        f"degraded answers appeared in {degraded_count}"
    )
    return findings.result("detection", summary, {"faults": faults})
