"""The tiny target of the plugin benchmark: fixed bytes on every path, gevent WSGI, keep-alive, TCP_NODELAY.

Run: `python -m bench.plugin_support.app --port P` (cwd: the repo root). It is as cheap as a server gets, so
the benchmark's Locust process, not the target, is what runs out of CPU.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402  (after the patch, like every gevent program)
from collections.abc import Callable, Iterable  # noqa: E402
from typing import Any  # noqa: E402

from targets.sample.serving import serve  # noqa: E402

_BODY = b'{"ok": true, "text": "fixed bytes from the plugin benchmark"}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]
# The plugin scrapes the target's /metrics every second: answer valid Prometheus text, or the scrape fails.
_METRICS = b"# TYPE gateway_requests_total counter\ngateway_requests_total 0\n"
_METRICS_HEADERS = [("Content-Type", "text/plain; version=0.0.4"), ("Content-Length", str(len(_METRICS)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/metrics":
        start_response("200 OK", _METRICS_HEADERS)
        return [_METRICS]
    start_response("200 OK", _HEADERS)
    return [_BODY]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    return serve(app, parser.parse_args().port, "bench-app")


if __name__ == "__main__":
    raise SystemExit(main())
