"""Synthetic results directories: a deterministic run with faults, rising load, telemetry and integrity,
for tests, benchmarks and trying the report without a stack. Not used by real runs."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from brownout.history.histogram import LatencyHistogram
from brownout.history.records import FaultRow, Integrity, Manifest, TelemetryRow, TimelineRow, UsersRow
from brownout.history.writers import (
    FaultsWriter,
    TelemetryWriter,
    TimelineWriter,
    UsersWriter,
    write_integrity,
    write_manifest,
)

DEFAULT_OPERATIONS = (
    ("POST", "/threads"),
    ("POST", "/threads/[id]/messages"),
    ("GET", "/threads/[id]"),
    ("POST", "/workflows"),
    ("WS", "/threads/[id]/stream"),
)


@dataclass(frozen=True)
class SyntheticFault:
    name: str
    start_s: float
    end_s: float | None  # None: never healed
    recovery_s: float = 2.0  # after the heal, the service is still worse for this long
    error_ratio: float = 0.3
    degraded_ratio: float = 0.4
    latency_ms: float = 400.0
    outcome: str = "healed"


@dataclass(frozen=True)
class SyntheticRun:
    duration_s: float = 60.0
    rps: float = 200.0
    bucket_s: float = 0.25
    operations: tuple[tuple[str, str], ...] = DEFAULT_OPERATIONS
    faults: tuple[SyntheticFault, ...] = ()
    steps: tuple[tuple[float, int], ...] = ((0.0, 10),)  # (from second, users)
    started_at: float = 1_700_000_000.0
    latency_ms: float = 20.0
    seed: int = 7
    telemetry: bool = True
    integrity: bool = True
    criteria: dict[str, object] = field(default_factory=dict)


_NORMAL, _FAULT, _RECOVERING = 0, 1, 2


def _state(run: SyntheticRun, offset: float) -> tuple[int, SyntheticFault | None]:
    for fault in run.faults:
        end = run.duration_s if fault.end_s is None else fault.end_s
        if fault.start_s <= offset < end:
            return _FAULT, fault
    for fault in run.faults:
        if fault.end_s is not None and fault.end_s <= offset < fault.end_s + fault.recovery_s:
            return _RECOVERING, fault
    return _NORMAL, None


def _pool(rng: random.Random, per_row: int, median_ms: float, size: int = 24) -> list[LatencyHistogram]:
    return [
        LatencyHistogram.of(rng.lognormvariate(0, 0.25) * median_ms for _ in range(max(1, per_row)))
        for _ in range(size)
    ]


def _users_at(run: SyntheticRun, offset: float) -> tuple[int, int]:
    """(step index, users) in force at `offset` seconds into the run."""
    step = 0
    for index, (at, _) in enumerate(run.steps):
        if at <= offset:
            step = index
    return step, run.steps[step][1]


def _timeline(run: SyntheticRun, directory: Path, rng: random.Random) -> None:
    # Throughput grows with users: `rps` is the rate at the first step's user count.
    first_users = max(1, run.steps[0][1])
    pools: dict[tuple[str, int], list[LatencyHistogram]] = {}

    def pool_for(key: str, median_ms: float, per_row: int) -> list[LatencyHistogram]:
        if (key, per_row) not in pools:
            pools[key, per_row] = _pool(rng, per_row, median_ms)
        return pools[key, per_row]

    buckets = int(run.duration_s / run.bucket_s)
    with TimelineWriter(directory) as writer:
        for index in range(buckets):
            offset = index * run.bucket_s
            state, fault = _state(run, offset + run.bucket_s / 2)
            _, users = _users_at(run, offset)
            per_row = max(1, round(run.rps * users / first_users * run.bucket_s / len(run.operations)))
            if state == _FAULT and fault:
                pool = pool_for(fault.name, fault.latency_ms, per_row)
            elif state == _RECOVERING:
                pool = pool_for("recovering", run.latency_ms * 3, per_row)
            else:
                pool = pool_for("normal", run.latency_ms, per_row)
            t = run.started_at + offset
            rows = []
            for request_type, name in run.operations:
                hist = pool[rng.randrange(len(pool))]
                total = hist.count
                if state == _FAULT and fault:
                    failed = round(total * fault.error_ratio)
                    degraded = min(total - failed, round(total * fault.degraded_ratio))
                elif state == _RECOVERING:
                    failed, degraded = round(total * 0.2), 0
                else:
                    failed, degraded = 0, 0
                rows.append(
                    TimelineRow(t, request_type, name, total - failed - degraded, degraded, failed, hist)
                )
            writer.extend(rows)


def _telemetry(run: SyntheticRun, directory: Path) -> None:
    attempts = calls = depth = 0.0
    opened = closed = 0.0
    was_open = False
    with TelemetryWriter(directory) as writer:
        for second in range(int(run.duration_s)):
            state, _ = _state(run, second + 0.5)
            t = run.started_at + second
            now_open = state == _FAULT
            calls += run.rps / 2
            attempts += run.rps / 2 * (3 if now_open else 1)
            depth = depth + 5 if now_open else max(0.0, depth - 20)
            if now_open and not was_open:
                opened += 1
            if was_open and not now_open:
                closed += 1
            was_open = now_open
            up = {"dependency": "upstream"}
            writer.extend(
                [
                    TelemetryRow(t, "gateway", "gateway_breaker_state", up, 1.0 if now_open else 0.0),
                    TelemetryRow(t, "gateway", "gateway_retry_attempts_total", up, attempts),
                    TelemetryRow(
                        t, "gateway", "gateway_dependency_calls_total", up | {"outcome": "ok"}, calls
                    ),
                    TelemetryRow(
                        t, "gateway", "gateway_breaker_transitions_total", up | {"to": "open"}, opened
                    ),
                    TelemetryRow(
                        t, "gateway", "gateway_breaker_transitions_total", up | {"to": "closed"}, closed
                    ),
                    TelemetryRow(t, "gateway", "gateway_outbox_depth", {}, depth),
                ]
            )


def write_synthetic_results(directory: str | os.PathLike[str], run: SyntheticRun = SyntheticRun()) -> Path:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    rng = random.Random(run.seed)
    scenario = {"name": "synthetic", "criteria": dict(run.criteria)}
    write_manifest(
        path,
        Manifest(
            started_at=run.started_at, ended_at=run.started_at + run.duration_s, bucket_s=run.bucket_s,
            scenario=scenario, brownout_version="synthetic", locust_version="-", python_version="-",
            git_rev="synthetic", command=["synthetic"], host="http://127.0.0.1:0",
        ),
    )  # fmt: skip
    _timeline(run, path, rng)
    with UsersWriter(path) as users:
        for second in range(int(run.duration_s)):
            step = (
                max(i for i, (at, _) in enumerate(run.steps) if at <= second)
                if run.steps[0][0] <= second
                else 0
            )
            users.append(UsersRow(run.started_at + second, run.steps[step][1], step))
    with FaultsWriter(path) as faults:
        for fault in run.faults:
            start = run.started_at + fault.start_s
            end = None if fault.end_s is None else run.started_at + fault.end_s
            outcome = fault.outcome if fault.end_s is not None else "heal-failed"
            faults.append(
                FaultRow(
                    fault.name,
                    "upstream",
                    "latency",
                    {"ms": fault.latency_ms},
                    start,
                    end,
                    start,
                    end,
                    outcome,
                )
            )
    if run.telemetry:
        _telemetry(run, path)
    if run.integrity:
        write_integrity(
            path,
            Integrity(verified=True, acknowledged_messages=100, acknowledged_workflows=10, stream_users=3),
        )
    return path
