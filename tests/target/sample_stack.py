"""The sample target's processes for tests: free ports, short resilience settings, kill/restart/freeze."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
import websocket

from tests.helpers import free_port, start_process, stop_process, wait_until

TOKEN = "test-admin-token"

# Short enough to keep the tests fast, long enough that a noisy machine does not trip them by accident.
FAST_RESILIENCE = [
    "--breaker-fail-max", "3",
    "--breaker-reset-timeout", "0.5",
    "--retry-attempts", "2",
    "--retry-initial-wait", "0.01",
    "--retry-max-wait", "0.05",
    "--upstream-timeout", "1.0",
    "--notifier-timeout", "0.5",
    "--outbox-interval", "0.1",
]  # fmt: skip


class SampleStack:
    """`via`: the gateway reaches these dependencies at these URLs (a fault proxy) instead of directly."""

    def __init__(
        self,
        workdir: Path,
        gateway_flags: list[str] | None = None,
        token: str | None = TOKEN,
        via: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.ports = {"gateway": free_port(), "upstream": free_port(), "notifier": free_port()}
        self.gateway_flags = FAST_RESILIENCE + (gateway_flags or [])
        self.token = token
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.via = via or {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def _argv(self, name: str) -> list[str]:
        argv = [sys.executable, "-m", f"targets.sample.{name}", "--port", str(self.ports[name])]
        if name == "upstream":
            argv += ["--latency-ms", "2", "--jitter-ms", "1"]
        if name == "gateway":
            upstream, notifier = (self.via.get(n, self.url(n)) for n in ("upstream", "notifier"))
            argv += ["--data-dir", str(self.data_dir), "--upstream-url", upstream]
            argv += ["--notifier-url", notifier, *self.gateway_flags]
            if self.token is not None:
                argv += ["--admin-token", self.token]
        return argv

    def start(self, name: str) -> subprocess.Popen[bytes]:
        process = start_process(self._argv(name), f"{self.url(name)}/readyz", self.workdir / f"{name}.log")
        self.processes[name] = process
        return process

    def start_all(self) -> SampleStack:
        """Start the three processes side by side (the gateway needs neither dependency to become ready)."""
        with ThreadPoolExecutor(max_workers=3) as pool:
            for started in [pool.submit(self.start, n) for n in ("upstream", "notifier", "gateway")]:
                started.result()
        return self

    def stop(self, name: str) -> int | None:
        return stop_process(self.processes.pop(name))

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.kill()
        process.wait(timeout=5)

    def signal(self, name: str, signum: int) -> None:
        os.kill(self.processes[name].pid, signum)

    def close(self) -> None:
        for name in ("gateway", "upstream", "notifier"):  # the gateway first: it calls the others
            if name in self.processes:
                self.stop(name)

    # -- client helpers -------------------------------------------------------------------------------------

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def new_thread(self) -> str:
        response = requests.post(f"{self.gateway}/threads", timeout=10)
        assert response.status_code == 201, response.text
        return str(response.json()["thread_id"])

    def post_message(self, thread_id: str, text: str, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return requests.post(
            f"{self.gateway}/threads/{thread_id}/messages", json={"text": text}, headers=headers, timeout=20
        )

    def audit(self, message_ids: list[str] | None = None, workflow_ids: list[str] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.gateway}/admin/audit",
            json={"message_ids": message_ids or [], "workflow_ids": workflow_ids or []},
            headers=self.admin_headers(),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def metric(self, name: str, labels: dict[str, str] | None = None, process: str = "gateway") -> float:
        """The sum of the samples of `name` whose labels include `labels` (0 when there are none)."""
        text = requests.get(f"{self.url(process)}/metrics", timeout=5).text
        return sum_samples(text, name, labels or {})

    def stream(self, thread_id: str, after: int) -> websocket.WebSocket:
        url = f"ws://127.0.0.1:{self.ports['gateway']}/threads/{thread_id}/stream?after={after}"
        return websocket.create_connection(url, timeout=10)


def sum_samples(text: str, name: str, labels: dict[str, str]) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        if metric != name:
            continue
        found = dict(part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part)
        if all(found.get(k, "").strip('"') == v for k, v in labels.items()):
            total += float(value)
    return total


def receive_frames(ws: websocket.WebSocket, count: int) -> list[dict[str, Any]]:
    """Exactly `count` frames (each within the socket timeout), decoded."""
    return [json.loads(ws.recv()) for _ in range(count)]


def eventually(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Call `check` until it answers something truthy; fail with its last answer after `timeout` s."""
    result = wait_until(check, timeout, interval)
    assert result, f"condition not met within {timeout} s (last answer: {result!r})"
    return result


SIGSTOP, SIGCONT = signal.SIGSTOP, signal.SIGCONT
