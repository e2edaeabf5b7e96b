"""`brownout proxy`: run the fault proxy's API (and a config file's proxies) until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import socket
import sys
from pathlib import Path

import gevent
from gevent.event import Event
from gevent.pywsgi import WSGIHandler, WSGIServer

from brownout.arguments import Parser, port
from brownout.errors import InputError
from brownout.net.auth import is_loopback_host
from brownout.proxy.api import TOXIPROXY_VERSION, create_app
from brownout.proxy.config import load_config_file
from brownout.proxy.errors import ApiError
from brownout.proxy.proxies import ProxyRegistry
from brownout.version import __version__

DEFAULT_PORT = 8474  # Toxiproxy's


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if not is_loopback_host(args.host):
        raise InputError(f"--host {args.host!r} is not a loopback address: use 127.0.0.1")
    specs = load_config_file(Path(args.config)) if args.config else []
    if args.seed is not None:
        random.seed(args.seed)
    if args.runtime_metrics:
        print("brownout proxy: warning: no Go runtime metrics here; -runtime-metrics ignored", file=sys.stderr)
    _allow_many_connections()
    registry = ProxyRegistry(lenient=args.lenient)
    try:
        for spec in specs:
            try:
                registry.create(spec)
            except ApiError as exc:
                raise InputError(f"proxy config {args.config}, proxy {spec.name!r}: {exc.message}") from None
        app = create_app(registry, args.token or None, metrics=args.proxy_metrics)
        server = WSGIServer((args.host, args.port), app, log=None, handler_class=_NoDelayHandler)
        try:
            server.start()
        except OSError as exc:
            raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        print(
            f"brownout proxy: API on http://{args.host}:{server.server_port} "
            f"({len(specs)} proxies, token {'required' if args.token else 'off'}"
            f"{', lenient' if args.lenient else ''})",
            flush=True,
        )
        stopping = Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            gevent.signal_handler(signum, stopping.set)
        stopping.wait()
        server.stop(timeout=1)
    finally:
        registry.close_all()
    print("brownout proxy: stopped", file=sys.stderr, flush=True)
    return 0


def _allow_many_connections() -> None:
    """Raise the soft open-file limit to the hard one, as Go's runtime does for Toxiproxy.

    Each proxied connection holds two descriptors: with a soft limit of 1024 the proxy would turn
    clients away from about 500 connections on, where Toxiproxy goes on.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _NoDelayHandler(WSGIHandler):
    """Answers at once on a kept-alive connection: without TCP_NODELAY each answer after the first waited
    ~40 ms for the client's delayed ACK (Toxiproxy answers in about 1 ms)."""

    def handle(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle()


def _version() -> str:
    return f"{TOXIPROXY_VERSION}+brownout.{__version__}"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="brownout proxy", description="Run the Toxiproxy-compatible fault proxy (API + TCP proxies).")
    # Toxiproxy's own spellings (-port, -host, -config, -seed; Go takes --port too) work as well, so a
    # command line or compose file written for toxiproxy-server needs only the program's name changed.
    parser.add_argument("--port", "-port", type=port, default=DEFAULT_PORT, help=f"API port (default {DEFAULT_PORT})")
    parser.add_argument("--host", "-host", default="127.0.0.1", help="API address, loopback only (default 127.0.0.1)")
    parser.add_argument("--config", "-config", metavar="FILE", help="Toxiproxy config: JSON list of proxies to create")
    parser.add_argument(
        "--seed", "-seed", type=int, default=None, help="seed the toxicity and jitter rolls, for repeatable runs"
    )
    parser.add_argument(
        "--proxy-metrics",
        "-proxy-metrics",
        action="store_true",
        help="serve /metrics: Toxiproxy's toxiproxy_proxy_{received,sent}_bytes_total per proxy and direction",
    )
    parser.add_argument(
        "--runtime-metrics",
        "-runtime-metrics",
        action="store_true",
        help="accepted for Toxiproxy's command line; there are no Go runtime metrics here (a warning says so)",
    )
    parser.add_argument("--version", "-version", action="version", version=f"brownout proxy {_version()}")
    parser.add_argument(
        "--token",
        default=os.environ.get("BROWNOUT_TOKEN"),
        help="require Authorization: Bearer TOKEN on the API (default: env BROWNOUT_TOKEN; unset = open)",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="accept toxics as Toxiproxy does: ignore unknown attributes and a changed type/stream in an "
        "update, allow negative values and a toxicity outside 0..1 (default: refuse them with a 400)",
    )
    return parser
