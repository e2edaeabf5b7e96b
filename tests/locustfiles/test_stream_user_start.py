"""StreamUser's start against a service that answers 503 at first (a user spawned during a fault)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import REPO_ROOT

# In a subprocess: importing a locustfile imports locust, which gevent-patches the interpreter.
_OPEN_THREAD = """
import sys
from locustfiles.recovery import _open_thread_plain, _PlainHttp
print(_open_thread_plain(_PlainHttp(sys.argv[1])))
"""


class _Service:
    """POST /threads: 503 for the first `refusals` calls, then 201 with a thread id."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.calls = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.calls += 1
                refused = service.calls <= service.refusals
                status, body = (503, {"error": "breaker open"}) if refused else (201, {"thread_id": "t-1"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def service() -> Iterator[_Service]:
    running = _Service(refusals=3)
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


def test_a_stream_user_starting_during_a_fault_waits_for_its_thread(service: _Service) -> None:
    # Before: the 503's body had no thread_id, and on_start died with a KeyError.
    opened = subprocess.run(
        [sys.executable, "-c", _OPEN_THREAD, service.url], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == "t-1"
    assert service.calls == 4
