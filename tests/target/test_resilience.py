"""Dependency outages: the upstream (retries, breaker, fallback) and the notifier (outbox)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.target.sample_stack import SIGCONT, SIGSTOP, SampleStack, eventually


def test_upstream_down_opens_breaker_and_degrades_then_recovers(stack: SampleStack) -> None:
    thread_id = stack.new_thread()
    assert stack.post_message(thread_id, "warm up").json()["degraded"] is False

    stack.kill("upstream")
    degraded = [stack.post_message(thread_id, f"while down {i}") for i in range(6)]
    assert {r.status_code for r in degraded} == {201}
    assert all(r.headers.get("X-Degraded") == "1" and r.json()["degraded"] is True for r in degraded)

    assert stack.metric("gateway_breaker_state", {"dependency": "upstream"}) == 1
    assert stack.metric("gateway_breaker_transitions_total", {"dependency": "upstream", "to": "open"}) >= 1
    attempts = stack.metric("gateway_retry_attempts_total", {"dependency": "upstream"})
    calls = stack.metric("gateway_dependency_calls_total", {"dependency": "upstream"})
    assert attempts > calls, "retries should show as more attempts than logical calls"
    assert stack.metric("gateway_fallbacks_total", {"dependency": "upstream"}) >= 6
    assert stack.metric("gateway_requests_total", {"outcome": "degraded"}) >= 6
    breakers = requests.get(f"{stack.gateway}/admin/breakers", headers=stack.admin_headers(), timeout=5).json()
    assert any(t["to_state"] == "open" and t["at"] > 0 for t in breakers["upstream"]["transitions"])
    assert requests.get(f"{stack.gateway}/readyz", timeout=5).status_code == 200  # fallback keeps it ready

    stack.start("upstream")
    eventually(lambda: stack.post_message(thread_id, "back?").json()["degraded"] is False, timeout=20)
    assert stack.metric("gateway_breaker_state", {"dependency": "upstream"}) == 0
    assert stack.metric("gateway_breaker_transitions_total", {"dependency": "upstream", "to": "closed"}) >= 1
    full = stack.post_message(thread_id, "full answer")
    assert full.json()["degraded"] is False and "X-Degraded" not in full.headers


def test_frozen_notifier_delays_notifications_but_loses_none(stack: SampleStack) -> None:
    thread_id = stack.new_thread()
    expected = [stack.post_message(thread_id, "before freeze").json()["message_id"]]

    stack.signal("notifier", SIGSTOP)
    try:
        answers = [stack.post_message(thread_id, f"frozen {i}") for i in range(5)]
        assert {a.status_code for a in answers} == {201}
        assert all(a.json()["degraded"] is False for a in answers)  # the notifier is not on the request path
        expected += [a.json()["message_id"] for a in answers]
        assert stack.metric("gateway_outbox_depth") >= 1
    finally:
        stack.signal("notifier", SIGCONT)

    def notifier_holds_all() -> bool:
        held = requests.get(f"{stack.url('notifier')}/events", timeout=5).json()
        return set(expected) <= set(held["ids"])

    eventually(notifier_holds_all, timeout=30)
    held = requests.get(f"{stack.url('notifier')}/events", timeout=5).json()
    assert len(held["ids"]) == len(set(held["ids"])) == held["count"]
    assert sorted(i for i in held["ids"] if i in set(expected)) == sorted(expected)
    eventually(lambda: stack.metric("gateway_outbox_depth") == 0, timeout=10)


def test_full_bulkhead_answers_the_fallback_at_once(tmp_path: Path) -> None:
    stack = SampleStack(tmp_path, gateway_flags=["--bulkhead-size", "1", "--bulkhead-timeout", "0.01"])
    try:
        stack.start_all()
        thread_id = stack.new_thread()
        slow = requests.put(
            f"{stack.gateway}/admin/faults/upstream",
            json={"latency_ms": 700},
            headers=stack.admin_headers(),
            timeout=5,
        )
        assert slow.status_code == 200
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda i: stack.post_message(thread_id, f"crowd {i}"), range(4)))
        assert {a.status_code for a in answers} == {201}
        assert sum(a.json()["degraded"] for a in answers) >= 1
        assert stack.metric("gateway_bulkhead_rejections_total", {"dependency": "upstream"}) >= 1
    finally:
        stack.close()
