"""Differential testing: the same requests and connections against Toxiproxy 2.8.0 and `brownout proxy`.

`Pair` holds the two servers (the real Toxiproxy from the anchor binary, `brownout proxy` without a token)
and one echo backend both proxy to. A `Step` is one API request; `Pair.run(steps)` sends each step to
both, one after the other, and compares what came back after `normalized()`, which blurs only what must
differ: the ports each OS chose, the wording of errors (brownout's say more; their status code and their
JSON keys must still match), and Toxiproxy's stray `"Logger": {}`. Success bodies are otherwise compared
byte for byte (key order, number format, escaping, trailing newline).

A step where the two differ on purpose names its row of the README's table (`Known`) and pins both
status codes, so a difference that goes away, or changes, fails too.

Placeholders in a path or body: `$echo` is the shared echo backend's port; `$free1`..`$free3` are ports
that were free a moment ago, chosen per server (so both can listen on "their" $free1 at once); `$closed` is
a port nothing listens on.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from brownout.net.ports import free_port
from tests.helpers import toxiproxy_binary, wait_listening
from tests.proxy.proxy_support import STARTUP_S, Api, ProxyProcess, Spawner

NO_BODY = object()
PLACEHOLDERS = ("$free1", "$free2", "$free3")

# The README's rows (section "The fault proxy", first column, backticks left out) a Known step points to.
README_ROWS = frozenset(
    {
        "API access",
        "unknown attribute, negative value",
        "fractional attribute",
        "upstream address without a port",
        "same name twice in one /populate",
        "listen left out",
        "listen shown",
        "/populate answer",
        "errors",
        "a listen address that cannot be used",
        "/version",
        "a client half-closes",
        "a reset_peer toxic removed while it waits",
    }
)


@dataclass(frozen=True)
class Known:
    """A deliberate difference: the README row that says so, and each server's status code."""

    row: str
    toxiproxy: int
    brownout: int

    def __post_init__(self) -> None:
        assert self.row in README_ROWS, f"no README row {self.row!r}"


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    body: Any = NO_BODY
    raw: str | None = None  # sent as is instead of `body` (bad JSON, an empty body)
    headers: dict[str, str] = field(default_factory=dict)
    known: Known | None = None

    def __str__(self) -> str:
        shown = self.raw if self.raw is not None else "" if self.body is NO_BODY else json.dumps(self.body)
        return f"{self.method} {self.path} {shown}".strip()


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # normalized

    def __str__(self) -> str:
        return f"{self.status} {self.body!r}"


@dataclass
class Server:
    label: str
    api: Api
    ports: dict[str, int]  # placeholder -> this server's port

    def send(self, step: Step) -> requests.Response:
        path = self._fill(step.path)
        if step.raw is not None:
            data: bytes | None = self._fill(step.raw).encode()
        else:
            data = None if step.body is NO_BODY else self._fill(json.dumps(step.body)).encode()
        # As bytes, so http.client sends the body with the headers: two small writes would wait out
        # Nagle and a delayed ACK (40 ms a request).
        return self.api.session.request(step.method, self.api.url + path, data=data, headers=step.headers, timeout=10)

    def normalized(self, response: requests.Response) -> Answer:
        return Answer(response.status_code, self._normalized_body(response))

    def clear(self) -> None:
        try:
            names = self.api.call("GET", "/proxies").json()
        except requests.Timeout:
            raise AssertionError(f"{self.label}: GET /proxies did not answer") from None
        for name in names:
            try:
                deleted = self.api.call("DELETE", f"/proxies/{quote(name, safe='')}")
            except requests.Timeout:  # noqa
                raise AssertionError(f"{self.label}: DELETE /proxies/{name} did not answer") from None
            assert deleted.status_code == 204, f"{self.label}: DELETE /proxies/{name}: {deleted.text}"
        assert self.api.call("POST", "/reset").status_code == 204

    def _fill(self, text: str) -> str:
        for placeholder, port in self.ports.items():
            text = text.replace(placeholder, str(port))
        return text

    def _normalized_body(self, response: requests.Response) -> str:
        text = response.text
        if response.status_code >= 400:
            try:
                error = json.loads(text)
            except ValueError:
                return "<not JSON>"
            if isinstance(error, dict) and isinstance(error.get("error"), str):
                error["error"] = "<error>"
            return json.dumps(error, sort_keys=False)
        text = text.replace(',"Logger":{}', "")
        for placeholder, port in self.ports.items():
            text = text.replace(f':{port}"', f':{placeholder}"')
        return re.sub(r'("listen":"[^"]*:)([1-9][0-9]*)"', r'\1<bound>"', text)


class Pair:
    """Toxiproxy and brownout, side by side, and the comparison of their answers."""

    def __init__(self, spawner: Spawner, echo_port: int, *brownout_args: str) -> None:
        binary = toxiproxy_binary()
        assert binary is not None
        port = free_port()
        process = spawner.popen([str(binary), "-host", "127.0.0.1", "-port", str(port)], quiet=True)
        wait_listening(port, process, STARTUP_S)
        self.toxiproxy_process: subprocess.Popen[str] = process
        brownout: ProxyProcess = spawner.proxy(*brownout_args)
        closed = free_port()
        shared = {"$echo": echo_port, "$closed": closed}
        self.toxiproxy = Server("toxiproxy", Api(f"http://127.0.0.1:{port}"), dict(shared))
        self.brownout = Server("brownout", Api(brownout.url), dict(shared))
        self.echo_port = echo_port

    @property
    def servers(self) -> tuple[Server, Server]:
        return self.toxiproxy, self.brownout

    def fresh(self) -> None:
        """Both servers without proxies, and new per-server ports for $free1..$free3."""
        for server in self.servers:
            server.clear()
            server.ports.update({placeholder: free_port() for placeholder in PLACEHOLDERS})

    def run(self, steps: list[Step]) -> list[str]:
        """Every step on both servers from a clean state; the differences found, as readable lines."""
        self.fresh()
        problems: list[str] = []
        for number, step in enumerate(steps, start=1):
            theirs, ours = (server.normalized(server.send(step)) for server in self.servers)
            if step.known is not None:
                if (theirs.status, ours.status) != (step.known.toxiproxy, step.known.brownout):
                    problems.append(
                        f"step {number} {step}: expected {step.known.toxiproxy} / {step.known.brownout} "
                        f"(README: {step.known.row}), got\n    toxiproxy {theirs}\n    brownout  {ours}"
                    )
            elif theirs != ours:
                a, b = _around_first_difference(theirs, ours)
                problems.append(f"step {number} {step}:\n    toxiproxy {a}\n    brownout  {b}")
        return problems

    def both(self, step: Step) -> tuple[requests.Response, requests.Response]:
        toxiproxy, brownout = self.servers
        return toxiproxy.send(step), brownout.send(step)


def _around_first_difference(theirs: Answer, ours: Answer, context: int = 150) -> tuple[str, str]:
    a, b = str(theirs), str(ours)
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    start = max(0, at - context)
    cut = (lambda text: ("..." if start else "") + text[start : at + context]) if len(a) + len(b) > 4 * context else str
    return cut(a), cut(b)


# --- the data plane --------------------------------------------------------------------------------------

QUIET_S = 0.8  # no byte and no close for this long: the connection is "open" (a FIN takes a millisecond)


@dataclass(frozen=True)
class Ending:
    """What a client saw on one connection: the bytes it got, and how the connection ended."""

    received: bytes
    how: str  # "fin" (orderly close), "rst" (reset), "open" (still open when we stopped waiting)


Session = Callable[["Server", str, int], Ending]  # (server, proxy name, its port) -> what the client saw


@dataclass(frozen=True)
class Wire:
    """A data-plane case: a proxy to `upstream` ("echo", "greeting" or "closed") with `toxics`, and the
    client's session through it. `known` pins a deliberate difference: (README row, toxiproxy's ending,
    brownout's ending), each `how` only."""

    session: Session
    toxics: tuple[dict[str, Any], ...] = ()
    upstream: str = "echo"
    known: tuple[str, str, str] | None = None

    def __post_init__(self) -> None:
        assert self.known is None or self.known[0] in README_ROWS


def run_wire(pair: Pair, cases: dict[str, Wire], upstreams: dict[str, int]) -> list[str]:
    """Every case on both servers at once (a proxy each); the differences found, as readable lines."""
    pair.fresh()
    jobs: list[tuple[str, Server, str, int]] = []
    for number, (label, case) in enumerate(cases.items()):
        name = f"wire{number}"
        for server in pair.servers:
            jobs.append((label, server, name, _make_proxy(server, name, upstreams[case.upstream], case.toxics)))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {
            (label, server.label): pool.submit(_session, cases[label].session, server, name, port)
            for label, server, name, port in jobs
        }
    problems = []
    for label, case in cases.items():
        theirs, ours = futures[label, "toxiproxy"].result(), futures[label, "brownout"].result()
        if case.known is not None:
            row, their_how, our_how = case.known
            if (theirs.how, ours.how) != (their_how, our_how):
                problems.append(
                    f"{label}: expected {their_how} / {our_how} (README: {row}), got "
                    f"toxiproxy {theirs}, brownout {ours}"
                )
        elif theirs != ours:
            problems.append(f"{label}:\n    toxiproxy {theirs}\n    brownout  {ours}")
    return problems


def _session(session: Session, server: Server, name: str, port: int) -> Ending:
    try:
        return session(server, name, port)
    except ConnectionResetError:  # reset before the client could read: at connect, or in a send
        return Ending(b"", "rst")


def _make_proxy(server: Server, name: str, upstream: int, toxics: tuple[dict[str, Any], ...]) -> int:
    body = {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream}"}
    created = server.api.call("POST", "/proxies", body)
    assert created.status_code == 201, f"{server.label}: {created.text}"
    for toxic in toxics:
        added = server.api.call("POST", f"/proxies/{name}/toxics", toxic)
        assert added.status_code == 200, f"{server.label}: {added.text}"
    return int(created.json()["listen"].rsplit(":", 1)[1])


def read_until_end(sock: socket.socket, quiet_s: float = QUIET_S, limit_s: float = 10.0) -> Ending:
    """Read until the peer closes or resets, or nothing happens for `quiet_s` ("open")."""
    received = b""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        sock.settimeout(quiet_s)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return Ending(received, "open")
        except ConnectionResetError:
            return Ending(received, "rst")
        if not data:
            return Ending(received, "fin")
        received += data
    return Ending(received, "open")


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    with contextlib.suppress(OSError):  # reset already (reset_peer 0): read_until_end will say so
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send(sock: socket.socket, data: bytes) -> None:
    """Send what the peer takes: a reset before or during the send shows in read_until_end."""
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        sock.sendall(data)
