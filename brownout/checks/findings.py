"""The bookkeeping every check shares: the status of each thing judged, the reasons, the alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brownout.checks.result import Alert, CheckResult, Status


@dataclass
class Findings:
    """Collects what a check found; `result` composes it (fail beats unknown beats pass)."""

    statuses: list[Status] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    def add(self, status: Status, reason: str | None = None, alert: Alert | None = None) -> Status:
        self.statuses.append(status)
        if reason:
            self.reasons.append(reason)
        if alert is not None:
            self.alerts.append(alert)
        return status

    def fail(self, reason: str, alert: Alert | None = None) -> Status:
        return self.add(Status.FAIL, reason, alert)

    def unknown(self, reason: str, alert: Alert | None = None) -> Status:
        return self.add(Status.UNKNOWN, reason, alert)

    def passed(self, alert: Alert | None = None) -> Status:
        return self.add(Status.PASS, None, alert)

    def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    @property
    def status(self) -> Status:
        return Status.worst(self.statuses)

    def result(self, name: str, summary: str, figures: dict[str, Any]) -> CheckResult:
        return CheckResult(name, self.status, summary, tuple(self.reasons), figures, tuple(self.alerts))
