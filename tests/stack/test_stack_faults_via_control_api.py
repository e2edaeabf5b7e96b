"""The issue's resilience scenarios driven the way the fault scheduler drives them: through the stack's
control API over HTTP, against the real sample stack (gateway -> fault proxy -> upstream / notifier)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from brownout.stack import Stack
from tests.target.sample_stack import eventually, sum_samples

SAMPLE = Path(__file__).resolve().parents[2] / "targets" / "sample" / "stack.toml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack.start(SAMPLE, tmp_path_factory.mktemp("stack"), ephemeral_ports=True)
    try:
        yield running
    finally:
        running.stop()


def _control(stack: Stack, name: str, action: str) -> dict:
    answer = requests.post(
        f"{stack.control_url}/components/{name}/{action}",
        headers={"Authorization": f"Bearer {stack.token}"}, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


def _metric(stack: Stack, name: str, **labels: str) -> float:
    return sum_samples(requests.get(f"{stack.url('gateway')}/metrics", timeout=5).text, name, labels)


def _post(stack: Stack, thread_id: str, text: str) -> requests.Response:
    return requests.post(f"{stack.url('gateway')}/threads/{thread_id}/messages", json={"text": text}, timeout=20)


def test_upstream_killed_through_the_control_api_opens_the_breaker_then_recovers(stack: Stack) -> None:
    thread_id = requests.post(f"{stack.url('gateway')}/threads", json={}, timeout=10).json()["thread_id"]
    assert _post(stack, thread_id, "warm up").json()["degraded"] is False
    calls_before = _metric(stack, "gateway_dependency_calls_total", dependency="upstream")
    attempts_before = _metric(stack, "gateway_retry_attempts_total", dependency="upstream")

    assert _control(stack, "upstream", "kill")["state"] in ("stopped", "exited")
    answers = [_post(stack, thread_id, f"while down {i}") for i in range(8)]
    assert {a.status_code for a in answers} == {201}
    assert all(a.headers.get("X-Degraded") == "1" for a in answers)
    assert _metric(stack, "gateway_breaker_state", dependency="upstream") == 1
    attempts = _metric(stack, "gateway_retry_attempts_total", dependency="upstream") - attempts_before
    calls = _metric(stack, "gateway_dependency_calls_total", dependency="upstream") - calls_before
    assert attempts > calls > 0, f"retries must show as more attempts ({attempts}) than calls ({calls})"

    assert _control(stack, "upstream", "start")["ready"] is True
    eventually(lambda: _post(stack, thread_id, "back?").json()["degraded"] is False, timeout=30)
    assert _metric(stack, "gateway_breaker_state", dependency="upstream") == 0
    assert "X-Degraded" not in _post(stack, thread_id, "full answer").headers


def test_notifier_frozen_through_the_control_api_delays_but_loses_no_event(stack: Stack) -> None:
    thread_id = requests.post(f"{stack.url('gateway')}/threads", json={}, timeout=10).json()["thread_id"]
    assert _control(stack, "notifier", "freeze")["state"] == "frozen"
    try:
        answers = [_post(stack, thread_id, f"frozen {i}") for i in range(5)]
        assert {a.status_code for a in answers} == {201}
        eventually(lambda: _metric(stack, "gateway_outbox_depth") >= 1, timeout=10)
    finally:
        assert _control(stack, "notifier", "thaw")["state"] == "running"
    eventually(lambda: _metric(stack, "gateway_outbox_depth") == 0, timeout=30)
    held = requests.get(f"{stack.url('notifier')}/events", timeout=5).json()
    assert len(held["ids"]) == len(set(held["ids"])) == held["count"]
    assert held["count"] >= 2 * len(answers)  # a user message and its reply each queue one event
