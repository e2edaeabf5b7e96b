"""Gateway restarts: streams resume with `after` exactly once; keyed requests resume without rewriting."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from typing import Any

import requests
import websocket

from tests.target.sample_stack import SampleStack, eventually, receive_frames


def _drain_until_closed(ws: websocket.WebSocket) -> list[dict[str, Any]]:
    """Whatever frames were still on their way when the gateway died, until the connection drops."""
    frames = []
    with contextlib.suppress(websocket.WebSocketException, OSError):
        while True:
            raw = ws.recv()
            if not raw:
                break
            frames.append(json.loads(raw))
    return frames


def test_gateway_killed_mid_stream_then_resumed_client_gets_every_event_once_in_order(
    stack: SampleStack,
) -> None:
    thread_id = stack.new_thread()
    for i in range(2):
        assert stack.post_message(thread_id, f"before {i}").status_code == 201

    client = stack.stream(thread_id, after=0)
    received = receive_frames(client, 3)  # seq 1..3 of 4: the client is mid-stream
    client.settimeout(5)

    stack.kill("gateway")  # SIGKILL: no goodbye, the log must come back from SQLite
    received += _drain_until_closed(client)
    client.close()

    stack.start("gateway")
    for i in range(2):
        assert stack.post_message(thread_id, f"after {i}").status_code == 201

    last_seen = received[-1]["seq"]
    resumed = stack.stream(thread_id, after=last_seen)
    try:
        received += receive_frames(resumed, 8 - last_seen)
    finally:
        resumed.close()

    assert [f["seq"] for f in received] == list(range(1, 9))
    messages = requests.get(f"{stack.gateway}/threads/{thread_id}", timeout=5).json()["messages"]
    assert [f["data"]["id"] for f in received] == [m["id"] for m in messages]


def test_gateway_stopped_gracefully_closes_streams_and_replays_after_restart(stack: SampleStack) -> None:
    thread_id = stack.new_thread()
    assert stack.post_message(thread_id, "one").status_code == 201
    client = stack.stream(thread_id, after=0)
    received = receive_frames(client, 2)

    assert stack.stop("gateway") == 0  # SIGTERM with a client attached still exits 0
    received += _drain_until_closed(client)
    client.close()

    stack.start("gateway")
    assert stack.post_message(thread_id, "two").status_code == 201
    resumed = stack.stream(thread_id, after=received[-1]["seq"])
    try:
        received += receive_frames(resumed, 4 - received[-1]["seq"])
    finally:
        resumed.close()
    assert [f["seq"] for f in received] == [1, 2, 3, 4]


def test_keyed_message_interrupted_by_a_crash_resumes_without_writing_twice(stack: SampleStack) -> None:
    thread_id = stack.new_thread()
    key = uuid.uuid4().hex
    slow = requests.put(
        f"{stack.gateway}/admin/faults/upstream",
        json={"latency_ms": 5000},
        headers=stack.admin_headers(),
        timeout=5,
    )
    assert slow.status_code == 200
    # The first attempt persists the user message, then waits on the (slowed) upstream: crash it there.
    interrupted = threading.Thread(target=lambda: _post_ignoring_errors(stack, thread_id, key), daemon=True)
    interrupted.start()

    def user_message_stored() -> list[dict[str, Any]]:
        return list(requests.get(f"{stack.gateway}/threads/{thread_id}", timeout=5).json()["messages"])

    stored = eventually(user_message_stored, timeout=10)
    stack.kill("gateway")
    interrupted.join(timeout=10)
    stack.start("gateway")  # faults live in memory: the restarted gateway has none

    retried = stack.post_message(thread_id, "interrupted", key=key)
    assert retried.status_code == 201, retried.text
    assert retried.json()["message_id"] == stored[0]["id"]
    messages = requests.get(f"{stack.gateway}/threads/{thread_id}", timeout=5).json()["messages"]
    assert [(m["role"], m["id"]) for m in messages] == [
        ("user", stored[0]["id"]),
        ("assistant", retried.json()["reply_id"]),
    ]
    again = stack.post_message(thread_id, "interrupted", key=key)
    assert again.json() == retried.json()


def _post_ignoring_errors(stack: SampleStack, thread_id: str, key: str) -> None:
    with contextlib.suppress(requests.RequestException):
        stack.post_message(thread_id, "interrupted", key=key)


def test_workflow_interrupted_by_a_crash_is_compensated_at_restart(stack: SampleStack) -> None:
    key = uuid.uuid4().hex
    slow = requests.put(
        f"{stack.gateway}/admin/faults/upstream", json={"latency_ms": 5000}, headers=stack.admin_headers(), timeout=5
    )
    assert slow.status_code == 200

    def post_workflow() -> None:
        with contextlib.suppress(requests.RequestException):
            requests.post(f"{stack.gateway}/workflows", json={}, headers={"Idempotency-Key": key}, timeout=20)

    interrupted = threading.Thread(target=post_workflow, daemon=True)
    interrupted.start()
    # An upstream attempt means reserve and persist have committed: the run is half done right now.
    eventually(lambda: stack.metric("gateway_retry_attempts_total", {"dependency": "upstream"}) >= 1)
    stack.kill("gateway")
    interrupted.join(timeout=10)
    stack.start("gateway")

    audit = stack.audit()
    assert audit["half_done_workflows"] == [] and audit["leaked_reservations"] == []
    retried = requests.post(f"{stack.gateway}/workflows", json={}, headers={"Idempotency-Key": key}, timeout=20)
    assert retried.status_code == 502 and retried.json()["status"] == "compensated"
    assert stack.audit(workflow_ids=[retried.json()["run_id"]])["workflows"] == {
        retried.json()["run_id"]: "compensated"
    }
