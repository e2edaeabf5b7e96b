"""Detection: how long after each fault started a breaker opened (telemetry) and degraded answers appeared
(timeline). Informational unless `detection_max_s` is set; a breaker opening raises a warning alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brownout.checks.counters import first_time
from brownout.checks.criteria import Criteria
from brownout.checks.result import Alert, AlertLevel, CheckResult, Status
from brownout.checks.windows import FaultWindow, fault_windows
from brownout.history import History, Telemetry

BREAKER_STATE = "gateway_breaker_state"
BREAKER_TRANSITIONS = "gateway_breaker_transitions_total"
OPEN = 1.0


def first_degraded(history: History, window: FaultWindow) -> float | None:
    """Seconds from the fault's start to the first bucket with a degraded answer during the fault."""
    series = history.timeline.all_operations()
    for i in series.index_range(window.start, window.end):
        if series.degraded[i]:
            return max(0.0, series.times[i] - window.start)
    return None


def breaker_openings(telemetry: Telemetry, window: FaultWindow) -> dict[str, float]:
    """dependency -> seconds from the fault's start until its breaker was seen open (state sample, or an
    increase of the transitions counter to open between two scrapes)."""
    opened: dict[str, float] = {}
    for series in telemetry.select(BREAKER_STATE):
        seen = first_time(series, window.start, window.end, lambda value: value == OPEN)
        if seen is not None:
            opened[series.labels.get("dependency", "?")] = seen - window.start
    for series in telemetry.select(BREAKER_TRANSITIONS, to="open"):
        # A counter first scraped during the fault (process started or restarted) counts from zero.
        seen = first_time(series, window.start, window.end, _above(series.value_at(window.start) or 0.0))
        if seen is not None:
            dependency = series.labels.get("dependency", "?")
            delay = max(0.0, seen - window.start)
            opened[dependency] = min(opened.get(dependency, delay), delay)
    return opened


def _above(base: float) -> Callable[[float], bool]:
    return lambda value: value > base


def check_detection(history: History, criteria: Criteria) -> CheckResult:
    windows = fault_windows(history)
    if not windows:
        return CheckResult("detection", Status.PASS, "no faults were injected: nothing to detect")
    telemetry = history.telemetry
    has_breakers = telemetry is not None and bool(
        telemetry.select(BREAKER_STATE) or telemetry.select(BREAKER_TRANSITIONS)
    )
    faults: list[dict[str, Any]] = []
    reasons: list[str] = []
    alerts: list[Alert] = []
    statuses: list[Status] = []
    for window in windows:
        degraded_s = first_degraded(history, window)
        opened = breaker_openings(telemetry, window) if telemetry is not None and has_breakers else {}
        for dependency, delay in sorted(opened.items()):
            alerts.append(
                Alert(
                    AlertLevel.WARNING,
                    window.start + delay,
                    window.label,
                    f"breaker {dependency} opened after {delay:.1f} s",
                )
            )
        first_breaker = min(opened.values(), default=None)
        detected = [s for s in (first_breaker, degraded_s) if s is not None]
        first = min(detected, default=None)
        if criteria.detection_max_s is not None and (first is None or first > criteria.detection_max_s):
            statuses.append(Status.FAIL)
            shown = "never" if first is None else f"after {first:.1f} s"
            reasons.append(f"{window.label}: detected {shown} (max {criteria.detection_max_s:g} s)")
        faults.append(
            {
                "fault": window.label,
                "start": window.start,
                "breaker_open_s": first_breaker,
                "breakers": opened,
                "degraded_s": degraded_s,
            }
        )
    if not has_breakers:
        statuses.append(Status.UNKNOWN)
        why = "no telemetry.csv" if telemetry is None else f"telemetry has no {BREAKER_STATE}"
        reasons.append(f"breaker detection unknown: {why}")
    opened_count = sum(1 for f in faults if f["breaker_open_s"] is not None)
    degraded_count = sum(1 for f in faults if f["degraded_s"] is not None)
    summary = (
        f"{len(faults)} fault(s): a breaker opened in {opened_count}, "
        f"degraded answers appeared in {degraded_count}"
    )
    return CheckResult(
        "detection", Status.worst(statuses), summary, tuple(reasons), {"faults": faults}, tuple(alerts)
    )
