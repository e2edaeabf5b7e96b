"""The gateway's tenacity retries honour the upstream's `Retry-After`, through a real `brownout proxy`.

gateway -> brownout proxy (an http_error toxic: 503 with `Retry-After`, first matching request only) ->
upstream. The wait is read from what the gateway records, never timed here: the histogram
`gateway_retry_wait_seconds{dependency, source}` of the waits tenacity took, and its log line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import BROWNOUT, free_port, start_process, stop_process
from tests.target.sample_stack import SampleStack

UPSTREAM = {"dependency": "upstream"}
AFTER = {**UPSTREAM, "source": "retry_after"}
BACKOFF = {**UPSTREAM, "source": "backoff"}


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[SampleStack, str]]:
    """A sample stack whose gateway reaches the upstream only through a brownout proxy named `upstream`."""
    api_port, listen = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    proxy = start_process([*BROWNOUT, "proxy", "--port", str(api_port)], f"{api}/healthz", tmp_path / "proxy.log")
    stack = SampleStack(tmp_path, via={"upstream": f"http://127.0.0.1:{listen}"})
    try:
        upstream = f"127.0.0.1:{stack.ports['upstream']}"
        route = {"name": "upstream", "listen": f"127.0.0.1:{listen}", "upstream": upstream}
        assert requests.post(f"{api}/proxies", json=route, timeout=10).status_code == 201
        yield stack.start_all(), api
    finally:
        stack.close()
        stop_process(proxy)


def fail_next_completion(api: str, name: str, retry_after: str) -> None:
    """The next /v1/complete request through the proxy is answered 503 with this Retry-After."""
    attributes = {"path_prefix": "/v1/complete", "status": 503, "body": "busy", "first": 1}
    attributes["headers"] = {"Retry-After": retry_after}
    toxic = {"name": name, "type": "http_error", "stream": "upstream", "attributes": attributes}
    response = requests.post(f"{api}/proxies/upstream/toxics", json=toxic, timeout=10)
    assert response.status_code == 200, response.text


def waits(stack: SampleStack, labels: dict[str, str]) -> tuple[float, float]:
    """(how many waits, their seconds in all) the gateway took with these labels."""
    return (
        stack.metric("gateway_retry_wait_seconds_count", labels),
        stack.metric("gateway_retry_wait_seconds_sum", labels),
    )


def test_the_retry_waits_as_long_as_retry_after_asks(proxied: tuple[SampleStack, str]) -> None:
    stack, api = proxied
    thread_id = stack.new_thread()
    fail_next_completion(api, "busy-1s", "1")
    answer = stack.post_message(thread_id, "hello")
    assert answer.status_code == 201 and answer.json()["degraded"] is False  # the retry got the real answer
    assert stack.metric("gateway_retry_attempts_total", UPSTREAM) == 2
    # the gateway's retry max wait is 0.05 s (FAST_RESILIENCE): 1 s can only come from the Retry-After
    assert waits(stack, AFTER) == (1, 1.0)
    assert waits(stack, BACKOFF) == (0, 0.0)
    log = (stack.workdir / "gateway.log").read_text()
    assert "upstream: waiting 1.000 s before attempt 2, as its Retry-After asked" in log


def test_a_retry_after_beyond_the_deadline_falls_back_at_once(proxied: tuple[SampleStack, str]) -> None:
    stack, api = proxied
    thread_id = stack.new_thread()
    fail_next_completion(api, "busy-60s", "60")  # the gateway's retry deadline is 5 s
    answer = stack.post_message(thread_id, "hello")
    assert answer.status_code == 201 and answer.json()["degraded"] is True  # no early retry: the fallback
    assert stack.metric("gateway_retry_attempts_total", UPSTREAM) == 1
    assert waits(stack, AFTER) == (0, 0.0) and waits(stack, BACKOFF) == (0, 0.0)
    assert stack.post_message(thread_id, "again").json()["degraded"] is False  # the toxic fired once only
