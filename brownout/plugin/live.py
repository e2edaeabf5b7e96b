"""The web UI's live chart data: Locust's own chart series, sampled once a second during one test."""

from __future__ import annotations

from typing import Any


class LiveSeries:
    """What Locust's Charts tab draws (requests/s, failures/s, p50/p95 of the last seconds, users), sampled
    once a second for the plugin's own chart; bounded, the oldest half thinned out when full."""

    LIMIT = 3600

    def __init__(self) -> None:
        keys = ("t", "rps", "fail", "p50", "p95", "users", "step")
        self.columns: dict[str, list[float | None]] = {key: [] for key in keys}

    def sample(self, t: float, total: Any, users: int, step: int) -> None:
        row = {
            "t": round(t, 2), "rps": round(total.current_rps, 2), "fail": round(total.current_fail_per_sec, 2),
            "p50": total.get_current_response_time_percentile(0.5),
            "p95": total.get_current_response_time_percentile(0.95), "users": users, "step": step,
        }  # fmt: skip
        for key, value in row.items():
            self.columns[key].append(value)
        if len(self.columns["t"]) > self.LIMIT:
            half = self.LIMIT // 2
            for values in self.columns.values():
                values[:half] = values[:half:2]
