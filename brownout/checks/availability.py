"""Availability during each fault window: (ok + degraded) / all requests that started inside the window.

Judged on all operations together (the requirement's "over all"); per-operation figures are reported
alongside. A window without any request is unknown: no traffic is no evidence.
"""

from __future__ import annotations

from typing import Any

from brownout.checks.criteria import Criteria
from brownout.checks.result import CheckResult, Status
from brownout.checks.windows import fault_windows
from brownout.history import ALL_OPERATIONS, History, WindowStats


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
    timeline = history.timeline
    faults: list[dict[str, Any]] = []
    reasons: list[str] = []
    statuses: list[Status] = []
    for window in windows:
        overall = timeline.window(window.start, window.end, ALL_OPERATIONS)
        operations = {
            op: window_figures(timeline.window(window.start, window.end, op)) for op in timeline.operations
        }
        if overall.availability is None:
            status = Status.UNKNOWN
            reasons.append(f"{window.label}: no requests during the fault window")
        elif overall.availability < criteria.availability_min_for(window.fault.name):
            status = Status.FAIL
            reasons.append(
                f"{window.label}: availability {overall.availability:.1%} < "
                f"{criteria.availability_min_for(window.fault.name):.0%}"
            )
        else:
            status = Status.PASS
        statuses.append(status)
        faults.append(
            {
                "fault": window.label,
                "target": window.fault.target,
                "kind": window.fault.kind,
                "start": window.start,
                "end": window.end,
                "healed": window.heal is not None,
                "status": str(status),
                "minimum": criteria.availability_min_for(window.fault.name),
                "overall": window_figures(overall),
                "operations": operations,
            }
        )
    status = Status.worst(statuses)
    judged = [f for f in faults if f["overall"]["availability"] is not None]
    worst = min(judged, key=lambda f: f["overall"]["availability"], default=None)
    lowest = (
        "n/a" if worst is None
        else f"{worst['overall']['availability']:.1%} ({worst['fault']}, minimum {worst['minimum']:.0%})"
    )  # fmt: skip
    summary = f"{len(windows)} fault(s); lowest availability {lowest}"
    return CheckResult("availability", status, summary, tuple(reasons), {"faults": faults})
