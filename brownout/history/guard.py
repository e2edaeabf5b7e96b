"""guard.json: the run's live limits and, when one was breached or the kill switch pulled, why it stopped.

Written when the test starts (limits, the kill switch's file) and again at an abort; a run that wrote none
(older runs) reads as one without guards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brownout.inputs import format_duration

GUARD = "guard.json"
BY_GUARD, BY_KILL_SWITCH = "guard", "kill switch"


@dataclass(frozen=True)
class Abort:
    """Why and when a run was stopped early; `message` is the line the report, the log and the CLI print."""

    by: str  # "guard" or "kill switch"
    what: str  # the guard field breached (error_ratio_max, ...), or "file" / "SIGUSR1"
    reason: str  # "error ratio 73 % over 10 s (limit 50 %)", "/tmp/stop touched"
    at: float  # epoch s
    at_s: float  # since the test started
    value: float | None = None  # the figure that breached the limit
    limit: float | None = None
    in_force: tuple[str, ...] = ()  # the faults in force at the abort, healed before the load stopped

    @property
    def message(self) -> str:
        said = f"aborted by guard: {self.reason}" if self.by == BY_GUARD else f"aborted by kill switch ({self.reason})"
        return f"{said} at {format_duration(round(self.at_s))}"

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by, "what": self.what, "reason": self.reason, "message": self.message, "at": self.at,
            "at_s": self.at_s, "value": self.value, "limit": self.limit, "in_force": list(self.in_force),
        }  # fmt: skip


@dataclass(frozen=True)
class GuardRecord:
    limits: dict[str, Any] = field(default_factory=dict)  # the scenario's [guard], every field (null: not set)
    kill_switch_file: str | None = None
    abort: Abort | None = None

    @property
    def configured(self) -> bool:
        """Any limit set (window and min_requests alone limit nothing)."""
        return any(self.limits.get(name) is not None for name in LIMIT_FIELDS)

    def to_json(self) -> dict[str, Any]:
        abort = None if self.abort is None else self.abort.to_json()
        return {"limits": self.limits, "kill_switch_file": self.kill_switch_file, "abort": abort}


LIMIT_FIELDS = ("error_ratio_max", "p95_ms_max", "availability_min_during_fault", "max_duration")
