"""Availability during each fault window: (ok + degraded) / all requests that started inside the window.

Judged on all operations together (the requirement's "over all"); per-operation figures are reported
alongside. A window without any request is unknown: no traffic is no evidence.
"""

from __future__ import annotations

from typing import Any

from brownout.checks.criteria import Criteria
from brownout.checks.result import CheckResult, Status
from brownout.checks.windows import FaultWindow, fault_windows
from brownout.history import ALL_OPERATIONS, History, Timeline, WindowStats


def window_figures(stats: WindowStats) -> dict[str, Any]:
    return {
        "requests": stats.total,
        "ok": stats.ok,
        "degraded": stats.degraded,
        "failed": stats.failed,
        "availability": stats.availability,
        "ok_ratio": stats.ok_ratio,
        "degraded_share": stats.degraded_share,
    }


def check_availability(history: History, criteria: Criteria) -> CheckResult:
    windows = fault_windows(history)
    if not windows:
        return CheckResult("availability", Status.PASS, "no faults were injected: nothing to judge")
    judged = [_judge_window(history.timeline, window, criteria) for window in windows]
    faults = [figures for figures, _ in judged]
    reasons = [reason for _, reason in judged if reason]
    status = Status.worst([Status(figures["status"]) for figures in faults])
    seen = [f for f in faults if f["overall"]["availability"] is not None]
    worst = min(seen, key=lambda f: f["overall"]["availability"], default=None)
    lowest = (
        "n/a" if worst is None
        else f"{worst['overall']['availability']:.1%} ({worst['fault']}, minimum {worst['minimum']:.0%})"
    )  # fmt: skip
    summary = f"{len(windows)} fault(s); lowest availability {lowest}"
    return CheckResult("availability", status, summary, tuple(reasons), {"faults": faults})


def _judge_window(timeline: Timeline, window: FaultWindow, criteria: Criteria) -> tuple[dict[str, Any], str]:
    """One window's figures (with its status) and, when it did not pass, why."""
    overall = timeline.window(window.start, window.end, ALL_OPERATIONS)
    minimum = criteria.availability_min_for(window.fault.name)
    reason = ""
    if overall.availability is None:
        status, reason = Status.UNKNOWN, f"{window.label}: no requests during the fault window"
    elif overall.availability < minimum:
        status, reason = Status.FAIL, f"{window.label}: availability {overall.availability:.1%} < {minimum:.0%}"
    else:
        status = Status.PASS
    figures = {
        "fault": window.label, "target": window.fault.target, "kind": window.fault.kind,
        "start": window.start, "end": window.end, "healed": window.heal is not None, "status": str(status),
        "minimum": minimum, "overall": window_figures(overall),
        "operations": {op: window_figures(timeline.window(window.start, window.end, op)) for op in timeline.operations},
    }  # fmt: skip
    return figures, reason
