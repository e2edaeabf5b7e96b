"""A synthetic hour at 1,000 requests/s through the plugin's TimelineRecorder and a TimelineWriter.

Drives `TimelineRecorder.record` directly (no Locust in this process: importing it would gevent-patch the
whole `python -m bench` process) and flushes the way the plugin's tick loop does on a local runner: every
0.25 s of simulated time, the buckets that started more than 1 s before "now". The synthetic requests are
made a second at a time with numpy, outside the timed part, so the figures are the recorder's and writer's.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from brownout.history import TimelineWriter
from brownout.plugin.timeline import TimelineRecorder

RATE = 1000
HOUR_S = 3600
FLUSH_EVERY_S = 0.25  # the plugin's tick
LAG_S = 1.0  # a local runner closes a bucket 1 s after it started
START = 1_700_000_000.0  # an epoch second: time cells as long as a real run's
SEED = 20240601

# (type, name, share of requests, median latency ms): the sample target's operations, roughly.
OPERATIONS = (
    ("GET", "/threads/[id]", 0.35, 8.0),
    ("POST", "/threads/[id]/messages", 0.30, 45.0),
    ("POST", "/threads", 0.10, 12.0),
    ("POST", "/workflows", 0.10, 120.0),
    ("WS", "/threads/[id]/stream", 0.15, 3.0),
)
SIGMA = 0.5  # log-normal spread around each median
SLOW_SHARE = 0.01  # a slow tail: 1 % take 10 to 60 times their median (a few up to ~7 s)
FAILED_SHARE = 0.01
DEGRADED_SHARE = 0.03
_OUTCOMES = np.array(["ok", "degraded", "failed"], dtype=object)


@dataclass(frozen=True)
class Second:
    """One simulated second of requests, ordered by completion time, as plain lists (what `record` takes)."""

    types: list[str]
    names: list[str]
    finished_at: list[float]
    response_ms: list[float]
    outcomes: list[str]
    quarter_ends: list[int]  # index after the last request of each 0.25 s slice


@dataclass(frozen=True)
class HourFigures:
    requests: int
    record_s: float
    flush_s: float
    rows: int
    size_bytes: int
    rss_mib: list[tuple[int, float, int]]  # (percent of the hour, RSS MiB, buckets held)


def _seconds(rng: np.random.Generator, count: int) -> Iterator[Second]:
    types = np.array([op[0] for op in OPERATIONS], dtype=object)
    names = np.array([op[1] for op in OPERATIONS], dtype=object)
    shares = np.array([op[2] for op in OPERATIONS])
    medians = np.array([op[3] for op in OPERATIONS])
    edges = np.arange(1, 4) * FLUSH_EVERY_S
    for second in range(count):
        offsets = np.sort(rng.random(RATE))
        op = rng.choice(len(OPERATIONS), size=RATE, p=shares)
        latency = medians[op] * rng.lognormal(0.0, SIGMA, RATE)
        slow = rng.random(RATE) < SLOW_SHARE
        latency[slow] *= rng.uniform(10, 60, int(slow.sum()))
        draw = rng.random(RATE)
        outcome = np.where(draw < FAILED_SHARE, 2, np.where(draw < FAILED_SHARE + DEGRADED_SHARE, 1, 0))
        yield Second(
            types=types[op].tolist(), names=names[op].tolist(), finished_at=(START + second + offsets).tolist(),
            response_ms=latency.tolist(), outcomes=_OUTCOMES[outcome].tolist(),
            quarter_ends=np.searchsorted(offsets, edges).tolist() + [RATE],
        )  # fmt: skip


def _play(
    seconds: Iterator[Second], recorder: TimelineRecorder, writer: TimelineWriter,
    at_second_end: Callable[[int], None] = lambda _: None,
) -> tuple[float, float, int]:  # fmt: skip
    """Record and flush every second of `seconds`; answers (seconds recording, seconds flushing, rows)."""
    record, perf = recorder.record, time.perf_counter
    record_s = flush_s = 0.0
    rows = 0
    for index, sec in enumerate(seconds):
        start = 0
        for quarter, end in enumerate(sec.quarter_ends):
            batch = zip(
                sec.types[start:end], sec.names[start:end], sec.finished_at[start:end],
                sec.response_ms[start:end], sec.outcomes[start:end], strict=True,
            )  # fmt: skip
            began = perf()
            for request_type, name, finished_at, response_ms, outcome in batch:
                record(request_type, name, finished_at, response_ms, outcome)  # type: ignore[arg-type]
            flushing = perf()
            now = START + index + (quarter + 1) * FLUSH_EVERY_S
            rows += recorder.flush(writer, before=now - LAG_S)
            done = perf()
            record_s += flushing - began
            flush_s += done - flushing
            start = end
        at_second_end(index + 1)
    return record_s, flush_s, rows


def _rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def run_hour(out_dir: Path) -> HourFigures:
    """The full hour: timing and timeline size, with RSS sampled at 10 %, 50 % and 100 % of it."""
    recorder = TimelineRecorder(FLUSH_EVERY_S)
    samples: list[tuple[int, float, int]] = []
    checkpoints = {HOUR_S * p // 100: p for p in (10, 50, 100)}

    def sample(done: int) -> None:
        if done in checkpoints:
            samples.append((checkpoints[done], _rss_mib(), len(recorder)))

    writer = TimelineWriter(out_dir)
    try:
        record_s, flush_s, rows = _play(_seconds(np.random.default_rng(SEED), HOUR_S), recorder, writer, sample)
        rows += recorder.flush(writer)
    finally:
        writer.close()
    size = (out_dir / "timeline.csv").stat().st_size
    return HourFigures(RATE * HOUR_S, record_s, flush_s, rows, size, samples)


def traced_peak_mib(out_dir: Path, seconds: int = 120) -> float:
    """Peak memory (tracemalloc) the recorder and writer allocate over `seconds` of the same traffic.

    A separate short pass: tracing slows every allocation, so the hour's timings are taken without it. The
    requests are made before tracing starts; a recorder's working set is a few seconds of buckets, reached
    within the first seconds and then flat, which the hour's RSS samples show."""
    prepared = list(_seconds(np.random.default_rng(SEED + 1), seconds))
    recorder = TimelineRecorder(FLUSH_EVERY_S)
    tracemalloc.start()
    writer = TimelineWriter(out_dir)
    try:
        _play(iter(prepared), recorder, writer)
        recorder.flush(writer)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        writer.close()
        tracemalloc.stop()
