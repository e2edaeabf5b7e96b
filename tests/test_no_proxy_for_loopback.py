"""brownout's own calls to this machine (control API, telemetry scrape, readiness poll and audit) never go
through an HTTP proxy from the environment: a token sent to them must not leave the machine.

HTTP_PROXY / HTTPS_PROXY point at a listener of the test's own that records every connection; the calls
must succeed and the listener must see nothing. A plain `requests` session in the same environment does
reach the listener, so the test would notice if the variables were not in force.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from brownout.faults.drivers.component import ComponentDriver
from brownout.faults.kinds import ComponentParams
from brownout.history import TelemetryWriter
from brownout.net.audit_client import AuditClient
from brownout.net.loopback import loopback_session, session_for
from brownout.plugin.integrity import AuditPlan, audit
from brownout.plugin.ledger import Ledger
from brownout.plugin.telemetry import MetricsScraper, is_service_metric
from brownout.stack import cli as stack_cli
from brownout.stack.control import ControlServer
from brownout.stack.status import ComponentStatus

TOKEN = "s3cret-token"
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


class _ProxyTrap:
    """A TCP listener standing in for a proxy: it records what it is sent and answers 502."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.received.append(connection.recv(65536))
                    connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


class _Target(BaseHTTPRequestHandler):
    """The target's side (outside brownout): /metrics, /readyz and an admin /admin/audit."""

    protocol_version = "HTTP/1.1"
    audits: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/metrics":
            self._reply(200, "# TYPE gateway_requests_total counter\ngateway_requests_total 7\n", "text/plain")
        elif self.path == "/readyz":
            self._reply(200, "{}")
        else:
            self._reply(404, "{}")

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Target.audits.append(self.headers.get("Authorization"))
        body = {"missing": [], "duplicated": [], "half_done_workflows": [], "leaked_reservations": []}
        self._reply(200, json.dumps(body))

    def _reply(self, status: int, text: str, kind: str = "application/json") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _OneComponent:
    """A stack with one component, for the control API."""

    def __init__(self) -> None:
        self.state = "running"

    def status(self) -> list[ComponentStatus]:
        return [ComponentStatus("gateway", 4242, self.state, self.state == "running", 1, 0, True)]

    def perform(self, action: str, name: str) -> ComponentStatus:
        self.state = {"freeze": "frozen", "thaw": "running"}.get(action, self.state)
        return self.status()[0]

    def request_shutdown(self) -> None:
        pass


@pytest.fixture
def trap(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ProxyTrap]:
    trap = _ProxyTrap()
    for name in _PROXY_VARIABLES:
        monkeypatch.setenv(name, trap.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield trap
    finally:
        trap.close()


@pytest.fixture
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_trap_catches_a_plain_session(trap: _ProxyTrap, target: str) -> None:
    assert requests.Session().get(f"{target}/readyz", timeout=5).status_code == 502
    assert trap.received and b"/readyz" in trap.received[0]


def test_brownouts_loopback_calls_bypass_the_proxy_variables(
    trap: _ProxyTrap, target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    control = ControlServer(_OneComponent(), TOKEN).start()
    try:
        driver = ComponentDriver(control.url, TOKEN, ComponentParams("gateway", "freeze", 5.0), "freeze-gateway")
        driver.inject()
        driver.heal()
        state = {"pid": 1, "control_url": control.url, "token": TOKEN, "started_at": 0}
        (tmp_path / "stack.json").write_text(json.dumps(state))
        assert stack_cli.main(["status", "--run-dir", str(tmp_path)]) == 0
        assert "gateway" in capsys.readouterr().out
    finally:
        control.close()

    writer = TelemetryWriter(tmp_path)
    scraper = MetricsScraper(f"{target}/metrics", "target", writer, is_service_metric)
    try:
        assert scraper.scrape(0.0) == 1 and scraper.failures == 0
    finally:
        scraper.close()
        writer.close()

    ledger = Ledger()
    ledger.acknowledge("messages", "m-1")
    _Target.audits.clear()
    plan = AuditPlan(host=target, ready_url=f"{target}/readyz", ready_timeout_s=10,
                     endpoint_url=f"{target}/admin/audit", token=TOKEN)  # fmt: skip
    result = audit(plan, ledger)
    assert result.verified and result.lost == 0, result
    assert _Target.audits == [f"Bearer {TOKEN}"]

    assert trap.received == []


def test_every_session_with_a_token_sends_it_to_loopback_past_the_proxy_variables(
    trap: _ProxyTrap, target: str
) -> None:
    _Target.audits.clear()
    for session in (loopback_session(TOKEN), session_for(target, TOKEN), AuditClient(target, token=TOKEN)):
        with session:
            assert session.post(f"{target}/admin/audit", json={}, timeout=5).status_code == 200
    assert _Target.audits == [f"Bearer {TOKEN}"] * 3
    assert trap.received == []


def test_a_service_elsewhere_keeps_the_environments_proxy_and_no_token_means_no_header() -> None:
    assert session_for("http://service.example:8080/").trust_env
    assert AuditClient("http://service.example:8080").trust_env
    assert not session_for("http://localhost:8080/").trust_env
    assert "Authorization" not in session_for("http://127.0.0.1:1/").headers
