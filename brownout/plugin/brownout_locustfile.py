"""Loaded by `brownout run` next to the scenario's locustfile (`locust -f theirs.py,this.py`): it registers
brownout's hooks and offers the scenario's load shape, so a locustfile needs nothing from brownout to be
run (it imports `brownout` only to acknowledge writes or read them back).

Under `brownout run` the process's exit code is the verdict's, decided after Locust has quit; Locust's own
"Shutting down (exit code 1)" (1: some request failed) would only contradict it, so it is left out here.
"""

from __future__ import annotations

import logging

from brownout.plugin.hooks import ScenarioShape


class _WithoutLocustsExitCode(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Shutting down (exit code")


logging.getLogger("locust.main").addFilter(_WithoutLocustsExitCode())

__all__ = ["ScenarioShape"]
