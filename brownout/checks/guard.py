"""The guards: did the run go to its end, or was it stopped by a breached live limit or the kill switch?

An abort fails the run whatever else it shows: the service was hurt beyond what the scenario allows (or
someone pulled the brake), and the rest of its history is of a run cut short.
"""

from __future__ import annotations

from brownout.checks.criteria import Criteria
from brownout.checks.result import CheckResult, Status
from brownout.history import History
from brownout.history.guard import LIMIT_FIELDS


def check_guard(history: History, criteria: Criteria) -> CheckResult:
    record = history.guard
    if record is None or (not record.configured and record.abort is None):
        switch = record.kill_switch_file if record is not None else None
        summary = "no guard configured" + (f" (kill switch {switch} not pulled)" if switch else "")
        return CheckResult("guard", Status.PASS, summary, figures=_figures(history))
    if record.abort is not None:
        return CheckResult("guard", Status.FAIL, record.abort.message, (record.abort.message,), _figures(history))
    set_limits = [name for name in LIMIT_FIELDS if record.limits.get(name) is not None]
    limits = ", ".join(f"{name} {record.limits[name]:g}" for name in set_limits)
    return CheckResult("guard", Status.PASS, f"no guard breached ({limits})", figures=_figures(history))


def _figures(history: History) -> dict[str, object]:
    return {} if history.guard is None else history.guard.to_json()
