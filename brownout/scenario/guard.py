"""A scenario's `[guard]`: limits checked live while the run goes on; a breach heals every fault and stops.

No limit is set by default (no guard unless configured). `window` is the span each ratio or percentile is
taken over; the error ratio and p95 limits count only requests outside fault windows (a scenario without
faults is all outside), the availability floor only requests inside one:

    [guard]
    error_ratio_max = 0.5                    # failed / all, outside fault windows
    p95_ms_max = 2000                        # p95 response time, outside fault windows
    availability_min_during_fault = 0.2      # (ok + degraded) / all, inside any fault window
    window = "10s"                           # each of the three over the last 10 s (default)
    max_duration = "5m"                      # wall clock of the test
    min_requests = 10                        # fewer requests in the window: not judged (default)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from brownout.inputs import TomlTable, declared

_LIMITS = ("error_ratio_max", "p95_ms_max", "availability_min_during_fault", "max_duration")


@dataclass(frozen=True)
class Guard:
    error_ratio_max: float | None = declared("number", None, ratio=True)
    p95_ms_max: float | None = declared("number", None, positive=True, finite=True)
    availability_min_during_fault: float | None = declared("number", None, ratio=True)
    max_duration: float | None = declared("duration", None, positive=True)  # seconds
    window: float = declared("duration", 10.0, positive=True)  # seconds
    # A ratio over a handful of requests is noise: a window with fewer is not judged.
    min_requests: int = declared("integer", 10, minimum=1)

    @property
    def configured(self) -> bool:
        return any(getattr(self, name) is not None for name in _LIMITS)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_guard(table: TomlTable | None) -> Guard:
    return Guard() if table is None else table.read_into(Guard, noun="guard field")
