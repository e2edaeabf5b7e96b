"""Helpers for the fault proxy tests: real `brownout proxy` processes, echo backends, an API client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from brownout.net.ports import free_port
from tests.helpers import BROWNOUT, stop_process, wait_listening

ROOT = Path(__file__).resolve().parents[2]
ECHO_SERVER = Path(__file__).with_name("echo_server.py")
STARTUP_S = 15.0


@dataclass
class ProxyProcess:
    process: subprocess.Popen[str]
    port: int
    token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Spawner:
    """Starts processes for one test (or module) and stops every one of them at teardown."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []

    def popen(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        quiet: bool = False,
        preexec_fn: Callable[[], None] | None = None,
    ) -> subprocess.Popen[str]:
        """Start `argv`; `quiet` for a chatty process (Toxiproxy logs every request), whose full pipe would
        block it."""
        output = subprocess.DEVNULL if quiet else subprocess.PIPE
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, text=True, stdout=output, stderr=output, preexec_fn=preexec_fn
        )
        self.processes.append(process)
        return process

    def echo_backend(self, greeting: str = "") -> int:
        port = free_port()
        argv = [sys.executable, str(ECHO_SERVER), "--port", str(port)]
        process = self.popen([*argv, "--greeting", greeting] if greeting else argv)
        wait_listening(port, process, STARTUP_S)
        return port

    def proxy(self, *args: str, token: str | None = None, preexec_fn: Callable[[], None] | None = None) -> ProxyProcess:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "BROWNOUT_TOKEN"}
        if token:
            env["BROWNOUT_TOKEN"] = token
        process = self.popen([*BROWNOUT, "proxy", "--port", str(port), *args], env=env, preexec_fn=preexec_fn)
        wait_listening(port, process, STARTUP_S)
        return ProxyProcess(process, port, token)

    def stop_all(self) -> None:
        for process in self.processes:
            stop_process(process)


class Api:
    """A thin Toxiproxy-API client, the way a fault driver would talk to the proxy."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, raw: str | None = None) -> requests.Response:
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        return self.session.request(method, self.url + path, data=data, timeout=10)

    def create_proxy(self, name: str, upstream_port: int, **fields: Any) -> int:
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream_port}", **fields}
        response = self.call("POST", "/proxies", body)
        assert response.status_code == 201, response.text
        return int(response.json()["listen"].rsplit(":", 1)[1])

    def add_toxic(
        self, proxy: str, type_: str, stream: str = "downstream", toxicity: float = 1.0, **attributes: float
    ) -> dict[str, Any]:
        body = {"type": type_, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        response = self.call("POST", f"/proxies/{proxy}/toxics", body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def clear(self) -> None:
        for name in self.call("GET", "/proxies").json():
            self.call("DELETE", f"/proxies/{name}")
