"""What every sample process shares: a gevent WSGI server on loopback, JSON errors, metrics, clean stops.

Callers must have run `gevent.monkey.patch_all()` before importing this module (each `__main__` does).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import gevent
from flask import Flask, Response, jsonify, request
from gevent.pywsgi import WSGIServer
from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics, generate_latest
from werkzeug.exceptions import BadRequest, HTTPException

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024

log = logging.getLogger("targets.sample")


class NoDelayWSGIServer(WSGIServer):
    """A WSGIServer that sets TCP_NODELAY on every accepted socket.

    Without it a keep-alive response written in two segments (headers, body) waits for the client's delayed
    ACK (Nagle), about 40 ms per request.
    """

    def handle(self, sock: socket.socket, address: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):  # the peer may already be gone; the handler will notice
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


class SyncFlask(Flask):
    """Flask for apps without async views: skips the per-call coroutine check on every hook and view
    (about a tenth of a cheap request's cost)."""

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return func


def json_error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def install_json_errors(app: Flask) -> None:
    """Every error answers JSON `{"error": ...}`; unexpected ones answer 500 without a traceback."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"request body too large (limit {MAX_BODY_BYTES} bytes)"
        return json_error(exc.code or 500, message)

    @app.errorhandler(Exception)
    def _unexpected_error(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error (logged by the server)")


def read_json_object(required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request body as a JSON object (empty body: `{}`), or a 400 naming what is wrong."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        body: Any = {}
    else:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    for field in required:
        if field not in body:
            raise BadRequest(f"missing field {field!r} in the JSON body")
    return body


def add_metrics_route(app: Flask) -> None:
    disable_created_metrics()  # the `*_created` series only double what a scraper has to store

    @app.get("/metrics")
    def _metrics() -> Response:
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def is_loopback_peer(remote_addr: str | None) -> bool:
    if not remote_addr:
        return False
    try:
        return ipaddress.ip_address(remote_addr).is_loopback
    except ValueError:
        return False


def port_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )


def serve(app: Any, port: int, name: str, on_stop: Callable[[], None] | None = None) -> int:
    """Serve `app` on 127.0.0.1:port until SIGTERM/SIGINT, then stop promptly and answer exit code 0."""
    server = NoDelayWSGIServer((LOOPBACK, port), app, log=None, error_log=logging.getLogger(f"{name}.wsgi"))
    server.start()
    actual_port = server.server_port
    print(f"{name} listening on http://{LOOPBACK}:{actual_port}", flush=True)

    def _stop() -> None:
        log.info("%s: stopping on signal", name)
        if on_stop is not None:
            on_stop()
        # Open WebSocket handlers never end on their own; give them a moment, then kill them.
        server.stop(timeout=1.0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, lambda: gevent.spawn(_stop))
    server.serve_forever()
    log.info("%s: stopped", name)
    return 0
