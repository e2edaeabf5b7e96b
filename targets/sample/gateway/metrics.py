"""The gateway's Prometheus metrics (names fixed by docs/interfaces.md; the Locust recorder scrapes them)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("gateway_requests_total", "Requests answered", ["route", "outcome"])
DEPENDENCY_CALLS = Counter(
    "gateway_dependency_calls_total", "Logical dependency calls (retries inside)", ["dependency", "outcome"]
)
RETRY_ATTEMPTS = Counter(
    "gateway_retry_attempts_total", "Dependency call attempts, first included", ["dependency"]
)
RETRY_WAITS = Histogram(
    "gateway_retry_wait_seconds",
    "Waits taken between attempts; source: backoff, or retry_after (the dependency's Retry-After)",
    ["dependency", "source"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)
BREAKER_STATE = Gauge(
    "gateway_breaker_state", "Circuit breaker: 0 closed, 1 open, 2 half-open", ["dependency"]
)
BREAKER_TRANSITIONS = Counter(
    "gateway_breaker_transitions_total", "Circuit breaker state changes", ["dependency", "to"]
)
FALLBACKS = Counter("gateway_fallbacks_total", "Answers served by a fallback", ["dependency"])
BULKHEAD_REJECTIONS = Counter(
    "gateway_bulkhead_rejections_total", "Calls turned away by a full bulkhead", ["dependency"]
)
OUTBOX_DEPTH = Gauge("gateway_outbox_depth", "Notifications waiting in the outbox")
STREAM_CLIENTS = Gauge("gateway_stream_clients", "Open WebSocket stream clients")
OUTBOX_DELIVERED = Counter("gateway_outbox_delivered_total", "Notifications delivered from the outbox")
WORKFLOW_RUNS = Counter("gateway_workflow_runs_total", "Workflow runs by final status", ["status"])
STORE_POOL_IN_USE = Gauge("gateway_store_pool_in_use", "PostgreSQL store: pooled connections in use")
