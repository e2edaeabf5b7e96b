"""Synthetic brownout results directories (tests and benchmarks), written with brownout.history's own writers.

One deterministic generator (numpy, seeded): per operation, Poisson request counts per bucket that grow with
the user count of each load step, log-normal latencies around the operation's median (times `slowdown`: 1.2
is 20 % slower at every percentile). A fault fails and degrades a share of its window's requests (and, with
`latency_ms`, serves them at that median); for `recovery_s` after its heal the service is still worse (20 %
failed, 3 x latency). Telemetry follows the faults like a breaker would; integrity reports `lost` writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brownout import history

OPERATIONS = (
    ("GET", "/threads/[id]", 20.0),
    ("POST", "/threads", 35.0),
    ("POST", "/threads/[id]/messages", 120.0),
    ("POST", "/workflows", 250.0),
    ("WS", "stream", 8.0),
)
_SIGMA = 0.35  # log-normal spread of latencies
_RECOVERING_FAILED, _RECOVERING_SLOWER = 0.2, 3.0


@dataclass(frozen=True)
class SyntheticFault:
    name: str
    start_s: float  # offsets from the run's start
    end_s: float | None  # None: never healed
    failed_share: float = 0.3
    degraded_share: float = 0.3
    latency_ms: float | None = None  # the median during the fault (None: unchanged)
    recovery_s: float = 0.0
    outcome: str = "healed"


@dataclass(frozen=True)
class SyntheticRun:
    seconds: float = 120.0
    rps: float = 200.0  # at the first step's user count, spread over the operations
    bucket_s: float = 0.25
    operations: int = 3  # the first N of OPERATIONS
    slowdown: float = 1.0
    faults: tuple[SyntheticFault, ...] = ()
    steps: tuple[tuple[float, int], ...] = ((0.0, 10),)  # (from second, users)
    started_at: float = 1_700_000_000.0
    seed: int = 0
    telemetry: bool = True
    lost: int = 0
    criteria: dict[str, object] = field(default_factory=dict)


def locust_round(values: np.ndarray) -> np.ndarray:
    """Vectorised brownout.history.round_response_time (Locust's ~2 significant digits)."""
    rounded = np.where(values < 100, np.round(values), np.round(values, -1))
    rounded = np.where(values >= 1000, np.round(values, -2), rounded)
    return np.where(values >= 10000, np.round(values, -3), rounded).astype(np.int64)


def write_synthetic_run(directory: str | os.PathLike[str], run: SyntheticRun | None = None, **fields: object) -> Path:
    """Write a results directory for `run` (or a SyntheticRun of `fields`) and answer its path."""
    run = run or SyntheticRun(**fields)  # type: ignore[arg-type]
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(run.seed)
    _manifest(run, path)
    _timeline(run, path, rng)
    _users(run, path)
    _faults(run, path)
    if run.telemetry:
        _telemetry(run, path)
    messages = history.KindIntegrity(acknowledged=100, lost=run.lost, lost_ids=tuple(str(i) for i in range(run.lost)))
    integrity = history.Integrity(
        verified=True, kinds={"messages": messages, "workflows": history.KindIntegrity(acknowledged=10)},
        stream=history.StreamIntegrity(users=3),
    )  # fmt: skip
    history.write_integrity(path, integrity)
    return path


def _manifest(run: SyntheticRun, path: Path) -> None:
    manifest = history.Manifest(
        started_at=run.started_at, ended_at=run.started_at + run.seconds, bucket_s=run.bucket_s,
        scenario={"name": "synthetic", "criteria": dict(run.criteria)}, brownout_version="synthetic",
        locust_version="-", python_version="-", git_rev="synthetic", command=["synthetic"],
        host="http://127.0.0.1:0",
    )  # fmt: skip
    history.write_manifest(path, manifest)


def _users_at(run: SyntheticRun, offset: float) -> tuple[int, int]:
    """(step index, users) in force at `offset` seconds into the run."""
    step = max((i for i, (at, _) in enumerate(run.steps) if at <= offset), default=0)
    return step, run.steps[step][1]


def _states(run: SyntheticRun, middles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket: the index of the fault in force (-1: none) and of the fault still recovering (-1: none)."""
    in_fault = np.full(len(middles), -1)
    recovering = np.full(len(middles), -1)
    for index, fault in reversed(list(enumerate(run.faults))):  # the first listed wins where they overlap
        end = run.seconds if fault.end_s is None else fault.end_s
        in_fault[(fault.start_s <= middles) & (middles < end)] = index
        if fault.end_s is not None:
            recovering[(fault.end_s <= middles) & (middles < fault.end_s + fault.recovery_s)] = index
    recovering[in_fault >= 0] = -1
    return in_fault, recovering


def _timeline(run: SyntheticRun, directory: Path, rng: np.random.Generator) -> None:
    buckets = int(round(run.seconds / run.bucket_s))
    starts = np.arange(buckets) * run.bucket_s
    in_fault, recovering = _states(run, starts + run.bucket_s / 2)
    first_users = max(1, run.steps[0][1])
    growth = np.array([_users_at(run, offset)[1] / first_users for offset in starts])
    chosen = OPERATIONS[: run.operations]
    with history.TimelineWriter(directory) as timeline:
        for request_type, name, median_ms in chosen:
            counts = rng.poisson(run.rps * growth * run.bucket_s / len(chosen))
            medians = np.full(buckets, median_ms * run.slowdown)
            failed = np.zeros(buckets, dtype=np.int64)
            degraded = np.zeros(buckets, dtype=np.int64)
            for index, fault in enumerate(run.faults):
                window = in_fault == index
                if fault.latency_ms is not None:
                    medians[window] = fault.latency_ms
                failed[window] = rng.binomial(counts[window], fault.failed_share)
                degraded[window] = rng.binomial(counts[window] - failed[window], fault.degraded_share)
            after = recovering >= 0
            medians[after] *= _RECOVERING_SLOWER
            failed[after] = rng.binomial(counts[after], _RECOVERING_FAILED)
            latencies = rng.lognormal(np.log(np.repeat(medians, counts)), _SIGMA)
            timeline.extend(_rows(run, request_type, name, counts, failed, degraded, latencies))


def _rows(
    run: SyntheticRun, request_type: str, name: str, counts: np.ndarray, failed: np.ndarray,
    degraded: np.ndarray, latencies: np.ndarray,
) -> list[history.TimelineRow]:  # fmt: skip
    buckets = len(counts)
    bucket_of = np.repeat(np.arange(buckets), counts)
    flat, tallies = np.unique(bucket_of * 1_000_000 + locust_round(latencies), return_counts=True)
    starts = np.searchsorted(flat // 1_000_000, np.arange(buckets + 1))
    keys, numbers = (flat % 1_000_000).tolist(), tallies.tolist()
    rows = []
    for index in np.flatnonzero(counts).tolist():
        a, b = starts[index], starts[index + 1]
        histogram = history.LatencyHistogram(dict(zip(keys[a:b], numbers[a:b], strict=True)))
        ok = int(counts[index] - failed[index] - degraded[index])
        t = run.started_at + index * run.bucket_s
        rows.append(history.TimelineRow(t, request_type, name, ok, int(degraded[index]), int(failed[index]), histogram))
    return rows


def _users(run: SyntheticRun, directory: Path) -> None:
    with history.UsersWriter(directory) as users:
        for second in range(int(run.seconds)):
            step, count = _users_at(run, second)
            users.append(history.UsersRow(run.started_at + second, count, step))


def _faults(run: SyntheticRun, directory: Path) -> None:
    with history.FaultsWriter(directory) as journal:
        for fault in run.faults:
            start = run.started_at + fault.start_s
            end = None if fault.end_s is None else run.started_at + fault.end_s
            outcome = fault.outcome if fault.end_s is not None else "heal-failed"
            kind, params = ("latency", {"ms": fault.latency_ms}) if fault.latency_ms is not None else ("component", {})
            journal.append(history.FaultRow(fault.name, "upstream", kind, params, start, end, start, end, outcome))


def _telemetry(run: SyntheticRun, directory: Path) -> None:
    """A breaker that is open while a fault is in force; retries triple then; the outbox fills and drains."""
    seconds = np.arange(int(run.seconds))
    in_fault, _ = _states(run, seconds + 0.5)
    attempts = calls = depth = opened = closed = 0.0
    was_open = False
    up = {"dependency": "upstream"}
    with history.TelemetryWriter(directory) as writer:
        for second, fault in zip(seconds.tolist(), in_fault.tolist(), strict=True):
            now_open = fault >= 0
            calls += run.rps / 2
            attempts += run.rps / 2 * (3 if now_open else 1)
            depth = depth + 5 if now_open else max(0.0, depth - 20)
            opened += now_open and not was_open
            closed += was_open and not now_open
            was_open = now_open
            t = run.started_at + second
            writer.extend([
                history.TelemetryRow(t, "gateway", "gateway_breaker_state", up, 1.0 if now_open else 0.0),
                history.TelemetryRow(t, "gateway", "gateway_retry_attempts_total", up, attempts),
                history.TelemetryRow(t, "gateway", "gateway_dependency_calls_total", up | {"outcome": "ok"}, calls),
                history.TelemetryRow(t, "gateway", "gateway_breaker_transitions_total", up | {"to": "open"}, opened),
                history.TelemetryRow(t, "gateway", "gateway_breaker_transitions_total", up | {"to": "closed"}, closed),
                history.TelemetryRow(t, "gateway", "gateway_outbox_depth", {}, depth),
            ])  # fmt: skip
