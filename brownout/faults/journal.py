"""faults.csv: one row per fault (README "Results format"), complete and readable at every moment.

The scheduler attaches a snapshot of its rows and calls `changed()` after each change; the file is
rewritten whole and swapped in with os.replace, so a reader (or a run killed at any point) never sees
half a file. Once `start_writer()` has run, rewrites happen on a thread of their own, so file I/O never
delays a fault. Rows of faults still running carry the outcome they would have if the run stopped now:
`skipped` for one not started, `aborted` for one in force.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from brownout.history import FAULTS, FaultRow, FaultsWriter

log = logging.getLogger("brownout.faults")

# Held (shared) while a journal's writer runs; `brownout heal` takes it exclusively, so it never heals a run
# that is still going. The kernel drops it when the process dies, SIGKILL included.
RUNNING_LOCK = ".running.lock"


class FaultJournal:
    def __init__(self, results_dir: Path | str) -> None:
        self.results_dir = Path(results_dir)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.results_dir / FAULTS
        self._lock = threading.Lock()
        self._snapshot: Callable[[], Sequence[FaultRow]] = list
        self._flush_lock = threading.Lock()
        self._dirty = threading.Event()
        self._closed = False
        self._writer: threading.Thread | None = None
        self._running: IO[str] | None = None

    def attach(self, snapshot: Callable[[], Sequence[FaultRow]]) -> None:
        """Where the rows come from at every rewrite."""
        self._snapshot = snapshot

    def start_writer(self) -> None:
        self._running = _hold_shared(self.results_dir / RUNNING_LOCK)
        self._writer = threading.Thread(target=self._loop, name="brownout-faults-journal", daemon=True)
        self._writer.start()

    def changed(self) -> None:
        """Rewrite soon (by the writer thread), or now when there is none or it has closed."""
        if self._writer is None or self._closed:
            self.flush()  # e.g. a fault added by hand after the schedule is over
        else:
            self._dirty.set()

    def close(self) -> None:
        """The last word: stop the writer thread and write the final rows from this thread."""
        self._closed = True
        self._dirty.set()
        writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=5)
        self.flush()
        if self._running is not None:
            self._running.close()  # healed and written: nothing left for `brownout heal`

    def flush(self) -> None:
        try:
            # Snapshot and write under one lock, so an older snapshot never overwrites a newer one.
            with self._flush_lock:
                self.write(self._snapshot())
        except OSError as exc:  # a full disk must not stop the heals
            log.error("cannot write %s: %s", self.path, exc)

    def _loop(self) -> None:
        while not self._closed:
            self._dirty.wait()
            self._dirty.clear()
            self.flush()

    def write(self, rows: Sequence[FaultRow]) -> None:
        with self._lock:
            scratch = Path(tempfile.mkdtemp(prefix=".faults-", dir=self.results_dir))
            try:
                with FaultsWriter(scratch) as writer:
                    writer.extend(list(rows))
                    # No fsync: os.replace already makes each version whole for readers and for a
                    # killed process; fsync only adds power-loss safety, at tens of ms per write.
                    writer.flush()
                os.replace(scratch / FAULTS, self.path)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)


def _hold_shared(path: Path) -> IO[str] | None:
    try:
        lock = path.open("a")
    except OSError:
        return None  # a convenience for `brownout heal`: never a reason to stop a run
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return lock
