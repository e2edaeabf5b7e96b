"""Compose the checks into one verdict.

The verdict passes only if every check passes, except that an unknown answer is accepted for the checks
named in `allow_unknown` (default: detection and resilience, whose data depends on the target exporting
the metrics they read) and for integrity when `allow_unverifiable` is set. Any fail fails the verdict; with
no fail, any other unknown makes the verdict unknown: the evidence cannot decide (e.g. a recovery the run
ended before it could be seen), which is neither a pass nor a failure of the service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from brownout.checks.availability import check_availability
from brownout.checks.criteria import Criteria
from brownout.checks.detection import check_detection
from brownout.checks.guard import check_guard
from brownout.checks.integrity import check_integrity
from brownout.checks.journal import check_faults
from brownout.checks.load import check_load
from brownout.checks.recovery import check_recovery
from brownout.checks.resilience import check_resilience
from brownout.checks.result import Alert, CheckResult, Status
from brownout.history import History

Check = Callable[[History, Criteria], CheckResult]

CHECKS: tuple[Check, ...] = (
    check_guard,
    check_faults,
    check_availability,
    check_recovery,
    check_detection,
    check_load,
    check_integrity,
    check_resilience,
)


@dataclass(frozen=True)
class Verdict:
    status: Status  # pass, fail, or unknown (no fail, but an unknown that is not allowed)
    checks: tuple[CheckResult, ...]
    criteria: Criteria

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    @property
    def exit_code(self) -> int:
        """0 passed, 1 a check failed, 2 the evidence could not decide (like bad input: nothing judged)."""
        return {Status.PASS: 0, Status.FAIL: 1, Status.UNKNOWN: 2}[self.status]

    @property
    def alerts(self) -> list[Alert]:
        found = [alert for check in self.checks for alert in check.alerts]
        return sorted(found, key=lambda a: (a.at is None, a.at or 0.0))

    def counts_against(self, check: CheckResult) -> bool:
        return check.status is Status.FAIL or (
            check.status is Status.UNKNOWN and not self.criteria.allows_unknown(check.name)
        )

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": str(self.status),
            "checks": [c.to_json() | {"counts_against": self.counts_against(c)} for c in self.checks],
            "alerts": [a.to_json() for a in self.alerts],
            "criteria": self.criteria.to_json(),
        }


def judge(history: History, criteria: Criteria, checks: tuple[Check, ...] = CHECKS) -> Verdict:
    results = tuple(check(history, criteria) for check in checks)
    provisional = Verdict(Status.PASS, results, criteria)
    against = [c.status for c in results if provisional.counts_against(c)]
    return Verdict(Status.worst(against), results, criteria)
