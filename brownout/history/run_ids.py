"""Names of results directories: `results/<run-id>/`."""

from __future__ import annotations

import os
import time


def new_run_id(now: float | None = None) -> str:
    """Sortable by time, unique per second and process: 20261128T121900Z-4821."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{os.getpid()}"
