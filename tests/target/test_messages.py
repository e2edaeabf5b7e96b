"""Messages, streams, idempotency, input validation and the basics every process must have."""

from __future__ import annotations

import signal
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests
import websocket

from tests.helpers import free_port, running_process, start_process
from tests.target.sample_stack import SampleStack, receive_frames


def test_message_round_trip_and_stream_replay(shared_stack: SampleStack) -> None:
    thread_id = shared_stack.new_thread()
    answers = [shared_stack.post_message(thread_id, f"hello {i}") for i in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert all(a.json()["degraded"] is False and "X-Degraded" not in a.headers for a in answers)
    assert "hello 0" in answers[0].json()["reply"]

    thread = requests.get(f"{shared_stack.gateway}/threads/{thread_id}", timeout=5).json()
    messages = thread["messages"]
    assert [m["seq"] for m in messages] == [1, 2, 3, 4]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [m["id"] for m in messages[:2]] == [answers[0].json()["message_id"], answers[0].json()["reply_id"]]

    with_all = shared_stack.stream(thread_id, after=0)
    try:
        frames = receive_frames(with_all, 4)
        assert [f["seq"] for f in frames] == [1, 2, 3, 4]
        assert shared_stack.metric("gateway_stream_clients") >= 1
        assert [f["data"]["id"] for f in frames] == [m["id"] for m in messages]
    finally:
        with_all.close()

    resumed = shared_stack.stream(thread_id, after=2)
    try:
        assert [f["seq"] for f in receive_frames(resumed, 2)] == [3, 4]
        live = shared_stack.post_message(thread_id, "live one").json()
        frames = receive_frames(resumed, 2)
        assert [f["seq"] for f in frames] == [5, 6]
        assert [f["data"]["id"] for f in frames] == [live["message_id"], live["reply_id"]]
    finally:
        resumed.close()


def test_same_idempotency_key_twice_writes_once(shared_stack: SampleStack) -> None:
    thread_id = shared_stack.new_thread()
    key = uuid.uuid4().hex
    first = shared_stack.post_message(thread_id, "only once", key=key)
    second = shared_stack.post_message(thread_id, "only once", key=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    messages = requests.get(f"{shared_stack.gateway}/threads/{thread_id}", timeout=5).json()["messages"]
    assert len(messages) == 2

    thread_key = uuid.uuid4().hex
    created = [
        requests.post(f"{shared_stack.gateway}/threads", headers={"Idempotency-Key": thread_key}, timeout=5)
        for _ in range(2)
    ]
    assert created[0].json()["thread_id"] == created[1].json()["thread_id"]


def test_retry_storm_with_one_key_writes_once(shared_stack: SampleStack) -> None:
    thread_id = shared_stack.new_thread()
    key = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: shared_stack.post_message(thread_id, "storm", key=key), range(20)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["message_id"] for a in answers}) == 1
    messages = requests.get(f"{shared_stack.gateway}/threads/{thread_id}", timeout=5).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    audit = shared_stack.audit(message_ids=[answers[0].json()["message_id"], answers[0].json()["reply_id"]])
    assert audit["missing"] == [] and audit["duplicated"] == []
    assert set(audit["messages"].values()) == {1}


def test_key_reused_for_another_request_is_refused(shared_stack: SampleStack) -> None:
    thread_id = shared_stack.new_thread()
    key = uuid.uuid4().hex
    assert shared_stack.post_message(thread_id, "first", key=key).status_code == 201
    reused = shared_stack.post_message(thread_id, "something else", key=key)
    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["error"]


def _bad_requests(gateway: str, thread_id: str) -> list[tuple[str, requests.Response]]:
    post = f"{gateway}/threads/{thread_id}/messages"
    json_headers = {"Content-Type": "application/json"}
    return [
        ("malformed JSON", requests.post(post, data="{not json", headers=json_headers, timeout=5)),
        ("JSON list", requests.post(post, data="[1, 2]", headers=json_headers, timeout=5)),
        ("missing text", requests.post(post, json={"txt": "x"}, timeout=5)),
        ("text not a string", requests.post(post, json={"text": 42}, timeout=5)),
        ("unknown thread", requests.post(f"{gateway}/threads/nope/messages", json={"text": "x"}, timeout=5)),
        ("read unknown thread", requests.get(f"{gateway}/threads/nope", timeout=5)),
        (
            "workflow unknown thread",
            requests.post(f"{gateway}/workflows", json={"thread_id": "nope"}, timeout=5),
        ),
        ("oversized body", requests.post(post, json={"text": "x" * 70_000}, timeout=5)),
        (
            "long Idempotency-Key",
            requests.post(post, json={"text": "x"}, headers={"Idempotency-Key": "k" * 300}, timeout=5),
        ),
        ("stream without upgrade", requests.get(f"{gateway}/threads/{thread_id}/stream", timeout=5)),
        ("unknown route", requests.get(f"{gateway}/nowhere", timeout=5)),
        ("wrong method", requests.delete(f"{gateway}/threads", timeout=5)),
    ]


def test_bad_input_answers_4xx_json(shared_stack: SampleStack) -> None:
    thread_id = shared_stack.new_thread()
    for label, response in _bad_requests(shared_stack.gateway, thread_id):
        assert 400 <= response.status_code < 500, (label, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json"), label
        assert isinstance(response.json().get("error"), str), label
        assert "Traceback" not in response.text, label
    oversized = requests.post(
        f"{shared_stack.gateway}/threads/{thread_id}/messages", json={"text": "x" * 70_000}, timeout=5
    )
    assert oversized.status_code == 413


@pytest.mark.parametrize("after", ["x", "-1", "1.5", "99"])
def test_bad_stream_after_answers_400_json(shared_stack: SampleStack, after: str) -> None:
    thread_id = shared_stack.new_thread()
    url = f"ws://127.0.0.1:{shared_stack.ports['gateway']}/threads/{thread_id}/stream?after={after}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 400
    assert b'"error"' in (refused.value.resp_body or b"")


def test_health_ready_and_metrics_on_every_process(shared_stack: SampleStack) -> None:
    for name in ("gateway", "upstream", "notifier"):
        assert requests.get(f"{shared_stack.url(name)}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{shared_stack.url(name)}/readyz", timeout=5).status_code == 200
        metrics = requests.get(f"{shared_stack.url(name)}/metrics", timeout=5)
        assert metrics.status_code == 200 and "# TYPE" in metrics.text
    text = requests.get(f"{shared_stack.gateway}/metrics", timeout=5).text
    for name in (
        "gateway_requests_total",
        "gateway_retry_attempts_total",
        "gateway_breaker_state",
        "gateway_outbox_depth",
        "gateway_stream_clients",
    ):
        assert name in text, name


def test_processes_listen_only_on_loopback(shared_stack: SampleStack) -> None:
    for name, process in shared_stack.processes.items():
        listening = [c.laddr for c in psutil.Process(process.pid).net_connections(kind="inet") if c.status == "LISTEN"]
        assert listening, f"{name} listens nowhere"
        assert {addr.ip for addr in listening} == {"127.0.0.1"}, (name, listening)


@pytest.mark.parametrize("name", ["upstream", "notifier", "gateway"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_processes_exit_zero_on_sigterm_and_sigint(tmp_path: Path, name: str, signum: int) -> None:
    port = free_port()
    argv = [sys.executable, "-m", f"targets.sample.{name}", "--port", str(port)]
    if name == "gateway":
        argv += ["--data-dir", str(tmp_path), "--upstream-url", "http://127.0.0.1:9"]
        argv += ["--notifier-url", "http://127.0.0.1:9"]
    process = start_process(argv, f"http://127.0.0.1:{port}/healthz", tmp_path / "process.log")
    try:
        process.send_signal(signum)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_notifier_with_a_data_dir_keeps_its_events_across_a_restart(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "targets.sample.notifier", "--port", str(port), "--data-dir", str(tmp_path)]
    url = f"http://127.0.0.1:{port}"
    with running_process(argv, f"{url}/readyz", tmp_path / "notifier.log"):
        for _ in range(2):  # the second post is a duplicate
            posted = requests.post(f"{url}/events", json={"id": "e1", "type": "t", "data": {}}, timeout=5)
            assert posted.status_code == 200
        assert posted.json()["duplicate"] is True
    with running_process(argv, f"{url}/readyz", tmp_path / "notifier.log"):
        held = requests.get(f"{url}/events", timeout=5).json()
    assert held["count"] == 1 and held["ids"] == ["e1"]
