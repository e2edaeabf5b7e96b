"""Locust's own CSVs for one test of a web UI session, in that test's results directory.

Locust's `--csv` writer lives as long as the process and writes every test of a web UI session into one
place; a test started from the web UI gets its own instead: Locust's `StatsCSVFileWriter` (same files,
same columns as `--csv --csv-full-history`) from test start to test stop. Locust clears its stats when a
test starts, so the files hold that test's requests only, and the final tables are written after the
workers' last reports are in, before the next test may start.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import gevent
from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV, StatsCSVFileWriter

log = logging.getLogger("brownout.plugin")

PREFIX = "locust"


class LocustCsv:
    def __init__(self, environment: Environment, out: Path) -> None:
        self.environment = environment
        self.base = out / PREFIX
        self.writer = StatsCSVFileWriter(environment, PERCENTILES_TO_REPORT, str(self.base), full_history=True)
        # The history rows (one per second, like Locust's own writer); the tables are rewritten at the end.
        self.greenlet = gevent.spawn(self.writer.stats_writer)

    def finish(self) -> None:
        """Stop the history and write the final tables (Locust's public CSV views of its current stats)."""
        self.greenlet.kill(block=True, timeout=2)
        self.writer.close_files()
        tables = StatsCSV(self.environment, PERCENTILES_TO_REPORT)
        for suffix, write in (("stats", tables.requests_csv), ("failures", tables.failures_csv),
                              ("exceptions", tables.exceptions_csv)):  # fmt: skip
            with open(f"{self.base}_{suffix}.csv", "w", newline="") as handle:
                write(csv.writer(handle))
