"""faults.csv: one row per fault (README "Results format"), complete and readable at every moment.

The scheduler calls `write()` with every row after each change; the file is rewritten whole and
swapped in with os.replace, so a reader (or a run killed at any point) never sees half a file. Rows
of faults still running carry the outcome they would have if the run stopped now: `skipped` for one
not started, `aborted` for one in force.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from brownout.history import FAULTS, FaultRow, FaultsWriter


class FaultJournal:
    def __init__(self, results_dir: Path | str) -> None:
        self.results_dir = Path(results_dir)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.results_dir / FAULTS
        self._lock = threading.Lock()

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
