"""Small literal histories for checker tests: 1-second buckets starting at t=0, written as Python literals."""

from __future__ import annotations

from brownout.history import (
    FaultRow,
    History,
    Integrity,
    LatencyHistogram,
    Manifest,
    Telemetry,
    TelemetryRow,
    Timeline,
    TimelineRow,
    UsersRow,
)

OP_A = ("GET", "/a")
OP_B = ("POST", "/b")


def rows(
    start: int,
    end: int,
    op: tuple[str, str] = OP_A,
    ok: int = 10,
    degraded: int = 0,
    failed: int = 0,
    ms: int = 20,
) -> list[TimelineRow]:
    """One row per second in [start, end): every request of a row takes `ms`."""
    total = ok + degraded + failed
    return [
        TimelineRow(
            float(t), op[0], op[1], ok, degraded, failed, LatencyHistogram({ms: total} if total else {})
        )
        for t in range(start, end)
    ]


def fault(name: str, start: float | None, end: float | None, outcome: str = "healed") -> FaultRow:
    return FaultRow(name, "upstream", "latency", {}, start, end, start, end, outcome)


def history(
    timeline: list[TimelineRow],
    faults: list[FaultRow] = (),  # type: ignore[assignment]
    end: float = 40.0,
    users: list[UsersRow] | None = None,
    telemetry: list[TelemetryRow] | None = None,
    integrity: Integrity | None = None,
    scenario: dict | None = None,
) -> History:
    return History(
        manifest=Manifest(started_at=0.0, ended_at=end, bucket_s=1.0, scenario=scenario or {}),
        timeline=Timeline.from_rows(timeline, 1.0),
        users=users if users is not None else [UsersRow(0.0, 10, 0)],
        faults=list(faults),
        telemetry=None if telemetry is None else Telemetry.from_rows(telemetry),
        integrity=integrity,
    )
