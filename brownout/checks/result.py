"""What a check answers: pass / fail / unknown, a one-line summary, the reasons, and the figures behind it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"

    @staticmethod
    def worst(statuses: list[Status]) -> Status:
        """fail beats unknown beats pass; no statuses at all is a pass (nothing was wrong)."""
        if Status.FAIL in statuses:
            return Status.FAIL
        if Status.UNKNOWN in statuses:
            return Status.UNKNOWN
        return Status.PASS


class AlertLevel(enum.StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Alert:
    level: AlertLevel
    at: float | None  # epoch s of what the alert is about
    fault: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"level": str(self.level), "at": self.at, "fault": self.fault, "message": self.message}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    summary: str
    reasons: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)  # JSON-ready; the report's tables come from here
    alerts: tuple[Alert, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "summary": self.summary,
            "reasons": list(self.reasons),
            "figures": self.figures,
        }
