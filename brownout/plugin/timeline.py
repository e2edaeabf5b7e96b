"""The timeline recorder: per time bucket x operation, ok / degraded / failed counts and a latency histogram.

Pure bookkeeping (no Locust import), so it is tested on its own. A request is filed under the bucket in
which it *started* (completion time minus response time), so a slow request during a fault is counted in
the fault window. Buckets that can no longer change are written out and dropped: memory stays bounded
however long the run. A late request landing in a bucket already written makes a second row for the same
bucket, which readers merge by adding (README "Results format").
"""

from __future__ import annotations

import math
from typing import Literal

from brownout.history import LatencyHistogram, TimelineRow, TimelineWriter

Outcome = Literal["ok", "degraded", "failed"]
_SLOT = {"ok": 0, "degraded": 1, "failed": 2}

# (bucket index, request type, name) -> [ok, degraded, failed, histogram]
_Buckets = dict[tuple[int, str, str], list]
# What a worker sends to the master: (bucket index, type, name, ok, degraded, failed, encoded histogram).
Payload = list[tuple[int, str, str, int, int, int, str]]


class TimelineRecorder:
    def __init__(self, bucket_s: float = 0.25) -> None:
        if bucket_s <= 0:
            raise ValueError(f"bucket_s must be > 0, got {bucket_s}")
        self.bucket_s = bucket_s
        self._buckets: _Buckets = {}

    def record(
        self, request_type: str, name: str, finished_at: float, response_time_ms: float, outcome: Outcome
    ) -> None:
        started_at = finished_at - max(response_time_ms, 0.0) / 1000.0
        key = (math.floor(started_at / self.bucket_s), request_type, name)
        cell = self._buckets.get(key)
        if cell is None:
            cell = self._buckets[key] = [0, 0, 0, LatencyHistogram()]
        cell[_SLOT[outcome]] += 1
        cell[3].record(response_time_ms)

    def __len__(self) -> int:
        return len(self._buckets)

    def drain(self) -> Payload:
        """Everything recorded so far, handed over (a worker's report to the master) and forgotten."""
        payload = [(i, t, n, c[0], c[1], c[2], c[3].encode()) for (i, t, n), c in self._buckets.items()]
        self._buckets = {}
        return payload

    def merge(self, payload: Payload) -> None:
        for index, request_type, name, ok, degraded, failed, hist in payload:
            key = (index, request_type, name)
            cell = self._buckets.get(key)
            if cell is None:
                cell = self._buckets[key] = [0, 0, 0, LatencyHistogram()]
            cell[0] += ok
            cell[1] += degraded
            cell[2] += failed
            cell[3].merge(LatencyHistogram.decode(hist))

    def flush(self, writer: TimelineWriter, *, before: float | None = None) -> int:
        """Write and forget the buckets that started before `before` (all when None); returns rows written."""
        return len(self.flush_rows(writer, before=before))

    def flush_rows(self, writer: TimelineWriter, *, before: float | None = None) -> list[TimelineRow]:
        """`flush`, answering the rows written (the live guards judge the same rows the history gets)."""
        limit = math.inf if before is None else math.floor(before / self.bucket_s)
        done = sorted(key for key in self._buckets if key[0] < limit)
        rows = [self._row(key, self._buckets.pop(key)) for key in done]
        if rows:
            writer.extend(rows)
            writer.flush()
        return rows

    def _row(self, key: tuple[int, str, str], cell: list) -> TimelineRow:
        index, request_type, name = key
        return TimelineRow(
            round(index * self.bucket_s, 6), request_type, name, cell[0], cell[1], cell[2], cell[3]
        )
