"""A tiny stand-in for "some service": gevent WSGI, every answer after a fixed delay (the "build's speed").

`python plain_app.py --port P --delay-ms D`. Used by the compare tests and bench to make real Locust CSVs.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402


class _NoDelayServer(WSGIServer):
    # Without TCP_NODELAY keep-alive answers stall ~40 ms each (Nagle + delayed ACK), which would drown
    # the delay under test.
    def handle(self, sock: socket.socket, address: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def make_app(delay_s: float) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz":
            status, body = "200 OK", b"ok"
        elif (method, path) in (("GET", "/work"), ("POST", "/submit")):
            if method == "POST":
                environ["wsgi.input"].read()
            gevent.sleep(delay_s)
            status = "201 Created" if method == "POST" else "200 OK"
            body = json.dumps({"ok": True, "path": path}).encode()
        else:
            status, body = "404 Not Found", b"{}"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    args = parser.parse_args()
    _NoDelayServer(("127.0.0.1", args.port), make_app(args.delay_ms / 1000.0), log=None).serve_forever()


if __name__ == "__main__":
    main()
