"""The tiny target of the plugin benchmark: fixed bytes on every path, keep-alive, TCP_NODELAY.

Run: `python -m bench.plugin_support.app --port P` (cwd: the repo root).

It must cost far less per request than Locust does, so that Locust, not the target, sets the request rate
in both variants. A gevent WSGI app (pywsgi: header parsing, an environ per request) costs about as much
CPU per request as Locust's FastHttpUser; then the bare variant was bound by the app (Locust idle between
single responses, paying a loop wake-up for each) and the plugin variant, dearer per request, by Locust
(several responses per wake-up): the two ran at different operating points, and the plugin looked cheaper
than nothing. So this is a raw gevent stream server that answers each request head with prepared bytes.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402  (after the patch, like every gevent program)
import signal  # noqa: E402
import socket  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402


def _response(body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


_ANSWER = _response(b'{"ok": true, "text": "fixed bytes from the plugin benchmark"}', "application/json")
# The plugin scrapes the target's /metrics every second: answer valid Prometheus text, or the scrape fails.
_METRICS = _response(b"# TYPE gateway_requests_total counter\ngateway_requests_total 0\n", "text/plain; version=0.0.4")
_MAX_HEAD = 65536


def _serve_connection(sock: socket.socket, _address: object) -> None:
    """GET requests only (no bodies): answer each complete request head, keep the connection open."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pending = b""
    while len(pending) < _MAX_HEAD:
        data = sock.recv(65536)
        if not data:
            return
        pending += data
        while b"\r\n\r\n" in pending:
            head, _, pending = pending.partition(b"\r\n\r\n")
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            sock.sendall(_METRICS if path == b"/metrics" else _ANSWER)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    server = StreamServer(("127.0.0.1", parser.parse_args().port), _serve_connection)
    server.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, lambda: gevent.spawn(server.stop, 1.0))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
