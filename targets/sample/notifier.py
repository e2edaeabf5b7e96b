"""The notifier: accepts events, de-duplicates them by id, lists and counts what it holds.

Run: `python -m targets.sample.notifier --port P [--data-dir D]`. With `--data-dir` the accepted events are
appended to `D/notifier-events.jsonl` and reloaded at start, so a restart keeps what was received.
"""

from __future__ import annotations

if __name__ == "__main__":  # patch before anything imports socket/threading
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify
from prometheus_client import Counter, Gauge
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

_RECEIVED = Counter("notifier_events_received_total", "Event posts received", ["outcome"])
_HELD = Gauge("notifier_events", "Distinct events held")


@dataclass(frozen=True)
class NotifierConfig:
    port: int
    data_dir: Path | None = None


class EventLog:
    """Distinct events by id, in arrival order, optionally mirrored to an append-only JSONL file."""

    def __init__(self, path: Path | None) -> None:
        self._events: dict[str, dict[str, Any]] = {}
        self._duplicates = 0
        self._path = path
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    event = json.loads(line)
                    self._events[event["id"]] = event
        _HELD.set(len(self._events))

    def add(self, event: dict[str, Any]) -> bool:
        """Keep `event` unless its id is already held; answer whether it was new."""
        if event["id"] in self._events:
            self._duplicates += 1
            return False
        if self._path is not None:
            _append_whole_line(self._path, json.dumps(event) + "\n")
        self._events[event["id"]] = event
        _HELD.set(len(self._events))
        return True

    def summary(self) -> dict[str, Any]:
        return {"count": len(self._events), "ids": list(self._events), "duplicates": self._duplicates}


def _append_whole_line(path: Path, line: str) -> None:
    """Append `line` whole or not at all: a full disk (ENOSPC) mid-write would leave half a JSON line, which
    the next start could not read; the file is cut back to where it was and the error goes to the caller."""
    data = line.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
        except OSError:
            os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def create_app(config: NotifierConfig) -> Flask:
    app = SyncFlask("notifier")
    install_json_errors(app)
    add_metrics_route(app)
    events = EventLog(config.data_dir / "notifier-events.jsonl" if config.data_dir else None)

    @app.get("/healthz")
    def _healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def _readyz() -> Response:
        return jsonify({"ready": True})

    @app.post("/events")
    def _post_event() -> Response:
        body = read_json_object(required=("id",))
        if not isinstance(body["id"], str) or not body["id"]:
            raise BadRequest("field 'id' must be a non-empty string")
        event = {"id": body["id"], "type": str(body.get("type", "")), "data": body.get("data")}
        is_new = events.add(event)
        _RECEIVED.labels("new" if is_new else "duplicate").inc()
        return jsonify({"id": event["id"], "duplicate": not is_new})

    @app.get("/events")
    def _list_events() -> Response:
        return jsonify(events.summary())

    return app


def parse_args(argv: list[str] | None) -> NotifierConfig:
    parser = argparse.ArgumentParser(prog="python -m targets.sample.notifier", description=__doc__)
    port_argument(parser)
    parser.add_argument("--data-dir", type=Path, default=None, help="keep received events in this directory")
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(args.log_level)
    return NotifierConfig(port=args.port, data_dir=args.data_dir)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    return serve(create_app(config), config.port, "notifier")


if __name__ == "__main__":
    raise SystemExit(main())
