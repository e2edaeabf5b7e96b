"""Checkers: pure functions of a run's history, one concern each, composed into a verdict (Jepsen style)."""

from brownout.checks.criteria import CHECK_NAMES, Criteria
from brownout.checks.result import Alert, AlertLevel, CheckResult, Status
from brownout.checks.verdict import CHECKS, Verdict, judge

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "Alert",
    "AlertLevel",
    "CheckResult",
    "Criteria",
    "Status",
    "Verdict",
    "judge",
]
