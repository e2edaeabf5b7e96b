"""Pass a child process's stderr through unchanged and remember its last error line, so that a command
whose child could not start can end with the reason (it is otherwise buried above later lines)."""

from __future__ import annotations

import re
import sys
import threading
from typing import IO

# Locust's log format: "[2026-11-30 02:24:11,232] host/ERROR/brownout.plugin: brownout: the message"
_LOG_ERROR = re.compile(r"^\[[^\]]*\] [^/]*/(?:ERROR|CRITICAL)/[^:]*: (?P<message>.*)$")


class ErrorTail:
    """Copies `stream` to `sink` line by line on a thread; `last` is the last ERROR/CRITICAL log message."""

    def __init__(self, stream: IO[str], sink: IO[str] | None = None) -> None:
        self._stream = stream
        self._sink = sink or sys.stderr
        self.last = ""
        self._thread = threading.Thread(target=self._copy, name="brownout-child-stderr", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        for line in self._stream:
            self._sink.write(line)
            self._sink.flush()
            match = _LOG_ERROR.match(line.rstrip("\n"))
            if match:
                self.last = match.group("message").strip().removeprefix("brownout: ")

    def join(self, timeout_s: float = 10.0) -> str:
        """Wait until the stream ends (the child has exited); answer the last error message ("" if none)."""
        self._thread.join(timeout_s)
        return self.last
