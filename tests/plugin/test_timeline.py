"""The timeline recorder on literal requests: buckets by start time, merges, flushes and forgets."""

from __future__ import annotations

from pathlib import Path

from brownout.history import LatencyHistogram, TimelineWriter, iter_timeline
from brownout.plugin.timeline import TimelineRecorder


def _rows(directory: Path) -> list[tuple[float, str, str, int, int, int, str]]:
    return [(r.t, r.type, r.name, r.ok, r.degraded, r.failed, r.hist.encode()) for r in iter_timeline(directory)]


def test_a_request_is_filed_under_the_bucket_it_started_in(tmp_path: Path) -> None:
    recorder = TimelineRecorder(bucket_s=0.25)
    recorder.record("GET", "/a", finished_at=100.30, response_time_ms=100, outcome="ok")  # started 100.20
    recorder.record("GET", "/a", finished_at=100.30, response_time_ms=20, outcome="degraded")  # started 100.28
    recorder.record("GET", "/a", finished_at=100.40, response_time_ms=1000, outcome="failed")  # started 99.40
    with TimelineWriter(tmp_path) as writer:
        assert recorder.flush(writer) == 3
    assert _rows(tmp_path) == [
        (99.25, "GET", "/a", 0, 0, 1, "1000:1"),
        (100.0, "GET", "/a", 1, 0, 0, "100:1"),
        (100.25, "GET", "/a", 0, 1, 0, "20:1"),
    ]
    assert len(recorder) == 0


def test_flush_before_keeps_open_buckets(tmp_path: Path) -> None:
    recorder = TimelineRecorder(bucket_s=1.0)
    recorder.record("GET", "/a", 10.5, 0, "ok")
    recorder.record("GET", "/a", 11.5, 0, "ok")
    with TimelineWriter(tmp_path) as writer:
        assert recorder.flush(writer, before=11.2) == 1
        assert len(recorder) == 1
        recorder.record("GET", "/a", 10.9, 0, "failed")  # late: a second row for bucket 10, merged by readers
        assert recorder.flush(writer) == 2
    assert _rows(tmp_path) == [
        (10.0, "GET", "/a", 1, 0, 0, "0:1"),
        (10.0, "GET", "/a", 0, 0, 1, "0:1"),
        (11.0, "GET", "/a", 1, 0, 0, "0:1"),
    ]


def test_a_worker_payload_merges_into_the_master_exactly() -> None:
    worker_a, worker_b, master = TimelineRecorder(0.5), TimelineRecorder(0.5), TimelineRecorder(0.5)
    for i in range(10):
        worker_a.record("POST", "/m", 50.0 + i * 0.1, 10 + i, "ok")
        worker_b.record("POST", "/m", 50.0 + i * 0.1, 200, "failed" if i % 2 else "degraded")
    master.merge(worker_a.drain())
    master.merge(worker_b.drain())
    assert len(worker_a) == len(worker_b) == 0
    payload = master.drain()
    totals = [sum(cell[k] for cell in payload) for k in (3, 4, 5)]
    assert totals == [10, 5, 5]
    merged = LatencyHistogram.merged(LatencyHistogram.decode(cell[6]) for cell in payload)
    assert merged.count == 20
    assert merged.percentile(0.5) == 200  # Locust's percentile: half the requests took 200 ms or more
    assert merged.percentile(0.25) == 15
