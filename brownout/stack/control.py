"""The stack supervisor's control API: HTTP JSON on 127.0.0.1, bearer token (docs/interfaces.md).

    GET  /components               {"components": [{"name", "pid", "state", "ready", "port", "restarts"}]}
    POST /components/<name>/<act>  act: kill|start|restart|freeze|thaw -> {"name", "state", "pid", "ready"}
                                   start/restart may carry {"env": {"K": "V"}}: extra env from then on
    POST /shutdown                 202 {"shutting_down": true}, then the stack stops

A stdlib threading server: it needs no event loop of its own, and under gevent's monkey patching its
threads become greenlets, so it also runs inside a Locust process.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from brownout.errors import StackError
from brownout.net.auth import Refused, require_bearer, require_loopback_peer
from brownout.stack.status import (
    ACTIONS,
    ENV_ACTIONS,
    ComponentStateError,
    ComponentStatus,
    UnknownComponentError,
)

log = logging.getLogger("brownout.stack.control")

_ACTION_PATH = re.compile(r"^/components/([^/]+)/([a-z]+)$")


class ControlTarget(Protocol):
    def status(self) -> list[ComponentStatus]: ...

    def perform(self, action: str, name: str, env: Mapping[str, str] | None = None) -> ComponentStatus: ...

    def request_shutdown(self) -> None: ...


class ControlServer:
    def __init__(self, target: ControlTarget, token: str, port: int = 0) -> None:
        if not token:
            raise ValueError("the control API needs a token")
        handler = type("_BoundHandler", (_Handler,), {"target": target, "token": token})
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            raise StackError(f"the control API cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
        self._server.daemon_threads = True  # a request must never hold up shutdown
        # a short poll interval: shutdown() waits up to one interval for the serving loop to notice
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="brownout-control", daemon=True
        )
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    target: ControlTarget
    token: str
    protocol_version = "HTTP/1.1"
    server_version = "brownout-control"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if not self._authorized():
            return
        if self.path.split("?")[0] == "/components":
            self._reply(HTTPStatus.OK, {"components": [s.as_json() for s in self.target.status()]})
        else:
            self._not_found()

    def do_POST(self) -> None:  # noqa: N802
        body = self._read_body()
        if not self._authorized():
            return
        path = self.path.split("?")[0]
        if path == "/shutdown":
            self._reply(HTTPStatus.ACCEPTED, {"shutting_down": True})
            self.wfile.flush()
            self.target.request_shutdown()
            return
        match = _ACTION_PATH.match(path)
        if match is None:
            self._not_found()
            return
        name, action = match.groups()
        if action not in ACTIONS:
            problem = f"unknown action {action!r}; use one of {list(ACTIONS)}"
            self._reply(HTTPStatus.NOT_FOUND, {"error": problem})
            return
        env = _env_of(body, action)
        if isinstance(env, str):
            self._reply(HTTPStatus.BAD_REQUEST, {"error": env})
            return
        self._perform(action, name, env)

    def _perform(self, action: str, name: str, env: dict[str, str] | None) -> None:
        try:
            # without env, the two-argument call: a target written before `env` existed still serves
            status = self.target.perform(action, name) if env is None else self.target.perform(action, name, env)
        except UnknownComponentError as exc:
            self._reply(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except ComponentStateError as exc:
            self._reply(HTTPStatus.CONFLICT, {"error": str(exc)})
        except StackError as exc:
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)})
        else:
            self._reply(HTTPStatus.OK, status.as_json())

    def do_PUT(self) -> None:  # noqa: N802
        self._wrong_method()

    def do_DELETE(self) -> None:  # noqa: N802
        self._wrong_method()

    def _authorized(self) -> bool:
        try:
            require_loopback_peer(self.client_address[0], "the control API")
            require_bearer(self.headers.get("Authorization"), [self.token], "the token is in the stack's stack.json")
        except Refused as exc:
            self._reply(HTTPStatus(exc.status), {"error": str(exc)})
            return False
        return True

    def _discard_body(self) -> None:
        self._read_body()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1 << 20)) if length > 0 else b""

    def _wrong_method(self) -> None:
        self._discard_body()
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{self.command} is not supported here"})

    def _not_found(self) -> None:
        self._reply(
            HTTPStatus.NOT_FOUND,
            {
                "error": f"no route {self.command} {self.path}; try GET /components, "
                "POST /components/<name>/<kill|start|restart|freeze|thaw>, POST /shutdown"
            },
        )

    def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s %s", self.address_string(), format % args)


def _env_of(body: bytes, action: str) -> dict[str, str] | None | str:
    """The `env` a start/restart body carries (None: none given), or what is wrong with the body."""
    if not body.strip():
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return 'the body must be JSON: {"env": {"NAME": "value"}}'
    if not isinstance(document, dict) or set(document) - {"env"}:
        return 'the body takes one field, env: {"env": {"NAME": "value"}}'
    env = document.get("env")
    if env is None:
        return None
    if action not in ENV_ACTIONS:
        return f"env only goes with {' or '.join(ENV_ACTIONS)} (it sets a new process's environment)"
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        return "env must map names to strings"
    return dict(env)
