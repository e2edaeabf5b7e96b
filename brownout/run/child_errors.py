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
    """Copies `stream` to `sink` line by line on a thread; `last` is the last ERROR/CRITICAL log message on
    one line, with the indented lines that follow it (a multi-line message, e.g. pre-flight's problems) joined
    on: "pre-flight: 1 problem(s) before any load: s.toml: [target] host: nothing answers at ...".
    """

    def __init__(self, stream: IO[str], sink: IO[str] | None = None) -> None:
        self._stream = stream
        self._sink = sink or sys.stderr
        self.last = ""
        self._thread = threading.Thread(target=self._copy, name="brownout-child-stderr", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        continued = False  # the previous line was an error message or one of its indented lines
        for line in self._stream:
            self._sink.write(line)
            self._sink.flush()
            text = line.rstrip("\n")
            match = _LOG_ERROR.match(text)
            if match:
                self.last = match.group("message").strip().removeprefix("brownout: ")
                continued = True
            elif continued and text[:1].isspace() and text.strip():
                self.last += (" " if self.last.endswith(":") else "; ") + text.strip()
            else:
                continued = False

    def join(self, timeout_s: float = 10.0) -> str:
        """Wait until the stream ends (the child has exited); answer the last error message ("" if none)."""
        self._thread.join(timeout_s)
        return self.last
