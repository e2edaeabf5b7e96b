"""The workflow's compensation and the admin API (faults, audit, auth)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.target.sample_stack import SampleStack, eventually, receive_frames


@pytest.fixture(scope="module")
def wf_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleStack]:
    """One stack for this module; each test leaves it without faults and with a closed breaker."""
    stack = SampleStack(tmp_path_factory.mktemp("workflow-stack"))
    try:
        yield stack.start_all()
    finally:
        stack.close()


@pytest.fixture
def stack(wf_stack: SampleStack) -> Iterator[SampleStack]:
    try:
        yield wf_stack
    finally:
        if "gateway" in wf_stack.processes:
            _clear_faults(wf_stack)
            eventually(lambda: _workflow(wf_stack).status_code == 201, timeout=20)  # breakers closed again


def _workflow(stack: SampleStack, thread_id: str | None = None, key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    body = {"thread_id": thread_id} if thread_id else {}
    return requests.post(f"{stack.gateway}/workflows", json=body, headers=headers, timeout=20)


def _set_fault(stack: SampleStack, dependency: str, **fault: float) -> None:
    response = requests.put(
        f"{stack.gateway}/admin/faults/{dependency}", json=fault, headers=stack.admin_headers(), timeout=5
    )
    assert response.status_code == 200, response.text


def _clear_faults(stack: SampleStack) -> None:
    response = requests.delete(f"{stack.gateway}/admin/faults", headers=stack.admin_headers(), timeout=5)
    assert response.status_code == 200 and response.json() == {"faults": {}}


def test_completed_workflow_keeps_its_reservation_and_reaches_the_stream(stack: SampleStack) -> None:
    thread_id = stack.new_thread()
    response = _workflow(stack, thread_id)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "completed" and run["degraded"] is False
    assert [(s["name"], s["status"]) for s in run["steps"]] == [
        ("reserve", "done"), ("persist", "done"), ("model", "done"), ("enrich", "done"), ("finalize", "done"),
    ]  # fmt: skip
    audit = stack.audit(workflow_ids=[run["run_id"]])
    assert audit["workflows"] == {run["run_id"]: "completed"}
    assert audit["half_done_workflows"] == [] and audit["leaked_reservations"] == []
    client = stack.stream(thread_id, after=0)
    try:
        assert receive_frames(client, 1)[0] == {
            "seq": 1, "type": "workflow", "data": {"run_id": run["run_id"], "status": "completed"},
        }  # fmt: skip
    finally:
        client.close()


def test_critical_step_failure_compensates_without_half_done_runs_or_leaks(stack: SampleStack) -> None:
    _set_fault(stack, "upstream", error_rate=1.0)
    failed = _workflow(stack)
    assert failed.status_code == 502, failed.text
    run = failed.json()
    assert run["status"] == "compensated"
    statuses = {s["name"]: s["status"] for s in run["steps"]}
    assert statuses["reserve"] == statuses["persist"] == "compensated"
    assert statuses["model"] == "failed" and statuses["finalize"] == "pending"

    audit = stack.audit(workflow_ids=[run["run_id"]])
    assert audit["workflows"] == {run["run_id"]: "compensated"}
    assert audit["half_done_workflows"] == [] and audit["leaked_reservations"] == []

    _clear_faults(stack)  # the breaker may still be open for a moment: the next runs compensate until it closes
    completed = eventually(lambda: (r := _workflow(stack)).status_code == 201 and r, timeout=20)
    audit = stack.audit(workflow_ids=[run["run_id"], completed.json()["run_id"]])
    assert audit["workflows"][completed.json()["run_id"]] == "completed"
    assert audit["half_done_workflows"] == [] and audit["leaked_reservations"] == []


def test_notifier_failure_only_degrades_the_workflow(stack: SampleStack) -> None:
    _set_fault(stack, "notifier", error_rate=1.0)
    response = _workflow(stack)
    assert response.status_code == 201, response.text
    assert response.headers.get("X-Degraded") == "1" and response.json()["degraded"] is True
    enrich = next(s for s in response.json()["steps"] if s["name"] == "enrich")
    assert enrich["status"] == "skipped" and "injected" in enrich["error"]


def test_same_key_runs_the_workflow_once(stack: SampleStack) -> None:
    key = uuid.uuid4().hex
    runs_before = stack.metric("gateway_workflow_runs_total")
    first, second = _workflow(stack, key=key), _workflow(stack, key=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert stack.metric("gateway_workflow_runs_total") == runs_before + 1


def test_admin_auth_and_validation(stack: SampleStack) -> None:
    url = f"{stack.gateway}/admin/faults"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401 and "error" in missing.json()
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 403 and "error" in wrong.json()
    assert requests.get(url, headers=stack.admin_headers(), timeout=5).status_code == 200

    headers = stack.admin_headers()
    bad_rate = requests.put(f"{url}/upstream", json={"error_rate": 2}, headers=headers, timeout=5)
    assert bad_rate.status_code == 400 and "error_rate" in bad_rate.json()["error"]
    unknown = requests.put(f"{url}/database", json={"error_rate": 0.5}, headers=headers, timeout=5)
    assert unknown.status_code == 404
    bad_audit = requests.post(f"{stack.gateway}/admin/audit", json={"message_ids": "x"}, headers=headers, timeout=5)
    assert bad_audit.status_code == 400


@pytest.fixture
def tokenless_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SampleStack]:
    monkeypatch.delenv("BROWNOUT_TOKEN", raising=False)
    stack = SampleStack(tmp_path, token=None)
    try:
        stack.start("gateway")
        yield stack
    finally:
        stack.close()


def test_admin_without_a_configured_token_is_disabled(tokenless_stack: SampleStack) -> None:
    response = requests.get(
        f"{tokenless_stack.gateway}/admin/faults", headers={"Authorization": "Bearer anything"}, timeout=5
    )
    assert response.status_code == 403
    assert "admin disabled" in response.json()["error"]


def test_store_fault_answers_503_json_and_clears(stack: SampleStack) -> None:
    thread_id = stack.new_thread()
    _set_fault(stack, "store", error_rate=1.0)
    refused = stack.post_message(thread_id, "no store")
    assert refused.status_code == 503 and "store" in refused.json()["error"]
    assert requests.get(f"{stack.gateway}/readyz", timeout=5).status_code == 503
    _clear_faults(stack)
    assert requests.get(f"{stack.gateway}/readyz", timeout=5).status_code == 200
    assert stack.post_message(thread_id, "store back").status_code == 201
