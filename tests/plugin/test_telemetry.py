"""Prometheus text -> telemetry rows: the service's samples, not the scraped process's runtime."""

from __future__ import annotations

from brownout.history import TelemetryRow
from brownout.plugin.telemetry import is_service_metric, parse_metrics

TEXT = """# TYPE gateway_breaker_state gauge
gateway_breaker_state{dependency="upstream"} 1.0
# TYPE gateway_retry_attempts counter
gateway_retry_attempts_total{dependency="upstream"} 7.0
gateway_retry_attempts_created{dependency="upstream"} 1.7e9
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 5.1e7
# TYPE python_gc_collections counter
python_gc_collections_total{generation="0"} 12.0
"""


def test_service_samples_are_kept_runtime_and_created_timestamps_dropped() -> None:
    assert parse_metrics(TEXT, 10.0, "gateway", is_service_metric) == [
        TelemetryRow(10.0, "gateway", "gateway_breaker_state", {"dependency": "upstream"}, 1.0),
        TelemetryRow(10.0, "gateway", "gateway_retry_attempts_total", {"dependency": "upstream"}, 7.0),
    ]
