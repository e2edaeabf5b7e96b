"""A stand-in component for supervisor tests: a tiny HTTP server whose misbehaviour is set by flags.

    python tests/stack/fake_component.py --port P [--ready-after S] [--never-ready] [--exit-after S
        --exit-code N] [--ignore-sigterm] [--record-signals FILE] [--proxy-config FILE] [--banner TEXT]

GET /readyz (200 once ready, else 503), GET /info (pid, argv, BROWNOUT_TOKEN, FAKE_EXTRA env),
GET /config (the --proxy-config file's JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-after", type=float, default=0.0)
    parser.add_argument("--never-ready", action="store_true")
    parser.add_argument("--exit-after", type=float, default=None)
    parser.add_argument("--exit-code", type=int, default=3)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--record-signals", default=None, help="append SIGINT/SIGTERM's name here, then exit 0")
    parser.add_argument("--proxy-config", default=None)
    parser.add_argument("--banner", default="fake component starting")
    parser.add_argument("--to", nargs="*", default=[], help="ignored: shows up in /info argv")
    args = parser.parse_args()
    print(args.banner, flush=True)
    print(f"fake component pid={os.getpid()}", flush=True)
    if args.record_signals:

        def _record(signum: int, _frame: Any) -> None:
            with open(args.record_signals, "a") as handle:
                handle.write(signal.Signals(signum).name + "\n")
            os._exit(0)

        signal.signal(signal.SIGINT, _record)
        signal.signal(signal.SIGTERM, _record)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    born = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/readyz":
                ready = not args.never_ready and time.monotonic() - born >= args.ready_after
                self._reply(200 if ready else 503, {"ready": ready})
            elif self.path == "/info":
                self._reply(
                    200,
                    {
                        "pid": os.getpid(),
                        "argv": sys.argv,
                        "token": os.environ.get("BROWNOUT_TOKEN"),
                        "extra": os.environ.get("FAKE_EXTRA"),
                        "cwd": os.getcwd(),
                    },
                )
            elif self.path == "/config" and args.proxy_config:
                with open(args.proxy_config) as handle:
                    self._reply(200, json.load(handle))
            else:
                self._reply(404, {"error": "no such route"})

        def _reply(self, status: int, body: Any) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *log_args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.exit_after is not None:

        def _exit_later() -> None:
            time.sleep(args.exit_after)
            print(f"fake component exiting with {args.exit_code}", flush=True)
            os._exit(args.exit_code)

        threading.Thread(target=_exit_later, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
