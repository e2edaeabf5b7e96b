"""The control API over real HTTP: auth, loopback only, and each action doing what it says."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest
import requests

from brownout.stack import Stack
from tests.helpers import wait_until
from tests.stack.stack_helpers import fake, port_closed, process_gone, session, write_stack


@pytest.fixture
def stack(tmp_path: Path, stacks: list[Stack]) -> Stack:
    spec = write_stack(tmp_path / "stack.toml", [fake("a"), fake("b", "--ready-after", "0.2")])
    started = Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    stacks.append(started)
    return started


def _post(stack: Stack, path: str) -> requests.Response:
    return session().post(
        stack.control_url + path, headers={"Authorization": f"Bearer {stack.token}"}, timeout=30
    )


def _answers(stack: Stack, name: str) -> bool:
    try:
        return session().get(stack.url(name) + "/info", timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


def _request_threads() -> list[threading.Thread]:
    """The control API's request threads (http.server names them after their target)."""
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


def test_no_token_is_401_and_a_wrong_one_403(stack: Stack) -> None:
    http = session()
    missing = http.get(stack.control_url + "/components", timeout=5)
    assert missing.status_code == 401 and "token" in missing.json()["error"]
    for header in (f"Bearer {stack.token}x", "Bearer ", f"Basic {stack.token}"):
        wrong = http.post(
            stack.control_url + "/components/a/kill", headers={"Authorization": header}, timeout=5
        )
        assert wrong.status_code == 403 and "error" in wrong.json()
    assert stack.component_status("a").state == "running"  # the refused kill did nothing
    right = http.get(
        stack.control_url + "/components", headers={"Authorization": f"Bearer {stack.token}"}, timeout=5
    )
    assert right.status_code == 200
    assert [(c["name"], c["state"], c["ready"]) for c in right.json()["components"]] == [
        ("a", "running", True),
        ("b", "running", True),
    ]
    assert all(c["pid"] and c["port"] and c["restarts"] == 0 for c in right.json()["components"])


def test_it_listens_on_loopback_only(stack: Stack) -> None:
    port = int(stack.control_url.rsplit(":", 1)[1])
    listening = [
        c.laddr
        for c in psutil.Process().net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]
    assert [address.ip for address in listening] == ["127.0.0.1"]


def test_freeze_stops_answers_and_thaw_brings_them_back(stack: Stack) -> None:
    assert _answers(stack, "a")
    frozen = _post(stack, "/components/a/freeze")
    assert frozen.status_code == 200 and frozen.json()["state"] == "frozen"
    assert psutil.Process(frozen.json()["pid"]).status() == psutil.STATUS_STOPPED
    assert not _answers(stack, "a")
    assert _answers(stack, "b")  # only the frozen one
    thawed = _post(stack, "/components/a/thaw")
    assert thawed.status_code == 200 and thawed.json()["state"] == "running"
    assert wait_until(lambda: _answers(stack, "a"), timeout_s=5)


def test_kill_takes_it_down_and_start_brings_it_back(stack: Stack) -> None:
    before = stack.component_status("a")
    killed = _post(stack, "/components/a/kill")
    assert killed.status_code == 200 and killed.json()["state"] == "stopped" and killed.json()["pid"] is None
    assert before.pid is not None and process_gone(before.pid) and port_closed(before.port)
    again = _post(stack, "/components/a/kill")  # killing a stopped component is a no-op
    assert again.status_code == 200 and again.json()["state"] == "stopped"
    refused = _post(stack, "/components/a/freeze")
    assert refused.status_code == 409 and "stopped" in refused.json()["error"]
    requests_before = set(_request_threads())
    # Connection: close, so the request thread that started "a" ends right after its answer
    headers = {"Authorization": f"Bearer {stack.token}", "Connection": "close"}
    started = session().post(stack.control_url + "/components/a/start", headers=headers, timeout=30)
    assert started.status_code == 200 and started.json()["ready"] is True
    assert started.json()["pid"] != before.pid
    # started from a short-lived request thread, it must still outlive that thread (PDEATHSIG pitfall)
    for thread in set(_request_threads()) - requests_before:
        thread.join(10)
        assert not thread.is_alive()
    assert _answers(stack, "a") and stack.component_status("a").state == "running"


def test_restart_answers_once_the_new_process_is_ready(stack: Stack) -> None:
    before = stack.component_status("b")
    restarted = _post(stack, "/components/b/restart")
    assert restarted.status_code == 200
    body = restarted.json()
    assert body["ready"] is True and body["pid"] != before.pid and body["restarts"] == 1
    assert session().get(stack.url("b") + "/info", timeout=5).json()["pid"] == body["pid"]


def test_unknown_components_actions_and_routes_are_404(stack: Stack) -> None:
    assert _post(stack, "/components/ghost/kill").status_code == 404
    assert "ghost" in _post(stack, "/components/ghost/kill").json()["error"]
    assert _post(stack, "/components/a/explode").status_code == 404
    assert _post(stack, "/nowhere").status_code == 404


def test_shutdown_stops_everything_including_the_api(stack: Stack) -> None:
    pids = [s.pid for s in stack.status() if s.pid is not None]
    answer = _post(stack, "/shutdown")
    assert answer.status_code == 202 and answer.json() == {"shutting_down": True}
    assert stack.wait(30)
    assert all(process_gone(pid) for pid in pids)
    assert port_closed(int(stack.control_url.rsplit(":", 1)[1]))
    assert all(port_closed(port) for port in stack.ports.values())
