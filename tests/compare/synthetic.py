"""Synthetic brownout results directories, written with brownout.history's own writers (tests, bench).

Latencies are log-normal per operation; `slowdown` multiplies every latency (1.2 = 20 % slower at every
percentile). Optional faults make their window fail and degrade a share of requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brownout.history import (
    FaultRow,
    FaultsWriter,
    Integrity,
    LatencyHistogram,
    Manifest,
    TimelineRow,
    TimelineWriter,
    UsersRow,
    UsersWriter,
    write_integrity,
    write_manifest,
)

OPERATIONS = (
    ("GET", "/threads/[id]", 20.0),
    ("POST", "/threads", 35.0),
    ("POST", "/threads/[id]/messages", 120.0),
    ("POST", "/workflows", 250.0),
    ("WS", "stream", 8.0),
)


@dataclass(frozen=True)
class SyntheticFault:
    name: str
    start_s: float  # offset from the run start
    end_s: float
    failed_share: float = 0.3
    degraded_share: float = 0.3


def locust_round(values: np.ndarray) -> np.ndarray:
    """Vectorised brownout.history.round_response_time (Locust's ~2 significant digits)."""
    rounded = np.where(values < 100, np.round(values), np.round(values, -1))
    rounded = np.where(values >= 1000, np.round(values, -2), rounded)
    return np.where(values >= 10000, np.round(values, -3), rounded).astype(np.int64)


def write_synthetic_run(
    directory: Path,
    *,
    seconds: float = 120.0,
    bucket_s: float = 0.25,
    operations: int = 3,
    rps: float = 200.0,
    slowdown: float = 1.0,
    seed: int = 0,
    faults: tuple[SyntheticFault, ...] = (),
    started_at: float = 1_700_000_000.0,
    lost: int = 0,
) -> Path:
    rng = np.random.default_rng(seed)
    buckets = int(round(seconds / bucket_s))
    chosen = OPERATIONS[:operations]
    per_bucket = rps * bucket_s / len(chosen)
    directory.mkdir(parents=True, exist_ok=True)
    with TimelineWriter(directory) as timeline:
        for request_type, name, median_ms in chosen:
            counts = rng.poisson(per_bucket, buckets)
            latencies = rng.lognormal(np.log(median_ms * slowdown), 0.35, int(counts.sum()))
            bucket_of = np.repeat(np.arange(buckets), counts)
            keys = locust_round(latencies)
            failed = np.zeros(buckets, dtype=np.int64)
            degraded = np.zeros(buckets, dtype=np.int64)
            for fault in faults:
                window = slice(int(fault.start_s / bucket_s), int(fault.end_s / bucket_s))
                failed[window] = rng.binomial(counts[window], fault.failed_share)
                degraded[window] = rng.binomial(counts[window] - failed[window], fault.degraded_share)
            flat, tallies = np.unique(bucket_of * 1_000_000 + keys, return_counts=True)
            rows_of = flat // 1_000_000
            starts = np.searchsorted(rows_of, np.arange(buckets + 1))
            flat_keys, flat_counts = (flat % 1_000_000).tolist(), tallies.tolist()
            rows = []
            for index in range(buckets):
                if not counts[index]:
                    continue
                a, b = starts[index], starts[index + 1]
                hist = LatencyHistogram(dict(zip(flat_keys[a:b], flat_counts[a:b], strict=True)))
                ok = int(counts[index] - failed[index] - degraded[index])
                rows.append(
                    TimelineRow(
                        started_at + index * bucket_s,
                        request_type,
                        name,
                        ok,
                        int(degraded[index]),
                        int(failed[index]),
                        hist,
                    )  # fmt: skip
                )
            timeline.extend(rows)
    with UsersWriter(directory) as users:
        users.append(UsersRow(started_at, 10, 0))
    with FaultsWriter(directory) as journal:
        for fault in faults:
            start, end = started_at + fault.start_s, started_at + fault.end_s
            journal.append(
                FaultRow(fault.name, "upstream", "component", {}, start, end, start, end, "healed")
            )
    write_manifest(
        directory, Manifest(started_at=started_at, ended_at=started_at + seconds, bucket_s=bucket_s)
    )
    write_integrity(
        directory,
        Integrity(
            verified=True, acknowledged_messages=100, lost=lost, lost_ids=[str(i) for i in range(lost)]
        ),
    )
    return directory
