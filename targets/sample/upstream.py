"""The "model provider": `POST /v1/complete {"prompt"}` answers `{"text"}` after a jittered latency.

Run: `python -m targets.sample.upstream --port P [--latency-ms 20 --jitter-ms 5]`.
"""

from __future__ import annotations

if __name__ == "__main__":  # patch before anything imports socket/threading
    from gevent import monkey

    monkey.patch_all()

import argparse
import random
from dataclasses import dataclass

import gevent
from flask import Flask, Response, jsonify
from prometheus_client import Counter, Histogram
from werkzeug.exceptions import BadRequest

from targets.sample.serving import (
    SyncFlask,
    add_metrics_route,
    configure_logging,
    install_json_errors,
    port_argument,
    read_json_object,
    serve,
)

_COMPLETIONS = Counter("upstream_requests_total", "Completion requests answered", ["outcome"])
_LATENCY = Histogram("upstream_latency_seconds", "Time spent answering a completion")


@dataclass(frozen=True)
class UpstreamConfig:
    port: int
    latency_ms: float = 20.0
    jitter_ms: float = 5.0


def _think_time_s(config: UpstreamConfig) -> float:
    spread = random.uniform(-config.jitter_ms, config.jitter_ms)
    return max(0.0, config.latency_ms + spread) / 1000.0


def create_app(config: UpstreamConfig) -> Flask:
    app = SyncFlask("upstream")
    install_json_errors(app)
    add_metrics_route(app)

    @app.get("/healthz")
    def _healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def _readyz() -> Response:
        return jsonify({"ready": True})

    @app.post("/v1/complete")
    def _complete() -> Response:
        body = read_json_object(required=("prompt",))
        prompt = body["prompt"]
        if not isinstance(prompt, str):
            _COMPLETIONS.labels("client_error").inc()
            raise BadRequest("field 'prompt' must be a string")
        with _LATENCY.time():
            gevent.sleep(_think_time_s(config))
        _COMPLETIONS.labels("ok").inc()
        return jsonify({"text": f"You said {len(prompt)} characters: {prompt[:200]}"})

    return app


def parse_args(argv: list[str] | None) -> UpstreamConfig:
    parser = argparse.ArgumentParser(prog="python -m targets.sample.upstream", description=__doc__)
    port_argument(parser)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="mean answer latency (default 20)")
    parser.add_argument("--jitter-ms", type=float, default=5.0, help="uniform +/- jitter (default 5)")
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or args.jitter_ms < 0:
        parser.error("--latency-ms and --jitter-ms must be >= 0")
    configure_logging(args.log_level)
    return UpstreamConfig(port=args.port, latency_ms=args.latency_ms, jitter_ms=args.jitter_ms)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    return serve(create_app(config), config.port, "upstream")


if __name__ == "__main__":
    raise SystemExit(main())
