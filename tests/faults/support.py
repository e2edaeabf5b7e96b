"""Test helpers for the faults: a fake clock, a recording driver, a real recording HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from brownout.faults.kinds import CommandParams, FaultParams
from brownout.scenario.schema import FaultSpec


class FakeClock:
    """Monotonic and wall clock in one; `sleep` advances it (the scheduler's injected sleep)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + 1_700_000_000.0

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


class RecordingDriver:
    """Records inject/heal calls (with the clock's time) into a shared list; can be told to fail."""

    def __init__(
        self,
        name: str,
        log: list[tuple[str, str, float]],
        clock: FakeClock | None = None,
        fail_inject: bool = False,
        fail_heal: bool = False,
    ) -> None:
        self.name, self.log, self.clock = name, log, clock
        self.fail_inject, self.fail_heal = fail_inject, fail_heal

    def _now(self) -> float:
        return self.clock() if self.clock else time.monotonic()

    def inject(self) -> dict[str, object]:
        self.log.append(("inject", self.name, self._now()))
        if self.fail_inject:
            raise RuntimeError(f"{self.name}: inject exploded")
        return {"injects": sum(action == "inject" for action, name, _ in self.log if name == self.name)}

    def heal(self) -> dict[str, object]:
        self.log.append(("heal", self.name, self._now()))
        if self.fail_heal:
            raise RuntimeError(f"{self.name}: heal exploded")
        return {"healed": True}


def fault(
    name: str,
    *,
    at: float | None = None,
    when_users: int | None = None,
    duration: float = 10.0,
    target: str | None = None,
    params: FaultParams | None = None,
    planned: float | None = None,
) -> FaultSpec:
    return FaultSpec(
        index=0, name=name, target=target or name, kind="command",
        params=params or CommandParams(inject=("true",)), duration_s=duration, at_s=at, when_users=when_users,
        planned_offset_s=planned if planned is not None else (at or 0.0),
    )  # fmt: skip


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: str
    at: float


class RecordingServer:
    """A real HTTP server on 127.0.0.1:<free port> that records every request and answers 200
    (or the status given by a `?status=NNN` query)."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        recorder = self

        class _Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                status = int(query.removeprefix("status=")) if query.startswith("status=") else 200
                with recorder._arrived:
                    recorder.requests.append(Seen(self.command, path, body, time.monotonic()))
                    recorder._arrived.notify_all()
                payload = json.dumps({"error": "told to fail"} if status >= 400 else {"ok": True}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def paths(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(seen.method, seen.path) for seen in self.requests]

    def wait_for(self, method: str, path: str, timeout: float = 10.0) -> Seen:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for seen in self.requests:
                    if seen.method == method and seen.path == path:
                        return seen
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {method} {path} within {timeout}s; saw {self.requests}")
                self._arrived.wait(remaining)

    @contextmanager
    def running(self) -> Iterator[RecordingServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
