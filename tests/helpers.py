"""Small utilities for tests that run real processes on 127.0.0.1: free ports, readiness, clean stops.

The process helpers live in bench/support.py (the benchmarks use them too, and bench does not import the
tests); they are re-exported here, so a test imports everything from one place. Standard library and
brownout's light modules only: importing `requests` (urllib3) here would import ssl before Locust's gevent
monkey-patching in modules that import this one first, which ends in a RecursionError.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from bench.support import REPO_ROOT as REPO_ROOT  # the process helpers, re-exported for the tests
from bench.support import start_process as start_process
from bench.support import stop_process as stop_process
from bench.support import toxiproxy_binary as toxiproxy_binary
from bench.support import wait_http_ok as wait_http_ok
from bench.support import wait_listening as wait_listening
from brownout.net import polling
from brownout.net.ports import free_port as free_port  # re-exported for the tests

BROWNOUT = [sys.executable, "-m", "brownout"]  # the CLI, as the installed `brownout` script runs it
T = TypeVar("T")


def sigint_as_in_a_terminal() -> None:
    """A `preexec_fn` for a child that a test will Ctrl-C.

    A job started in the background by a non-interactive shell (`make test &`) inherits SIGINT ignored, and
    Python then installs no KeyboardInterrupt handler. A terminal's foreground job has the default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until(condition: Callable[[], T], timeout_s: float = 10.0, interval_s: float = 0.05) -> T:
    """Poll `condition` until it answers something truthy or `timeout_s` has passed; answer its last answer.

    The tests' one wait: brownout's own poll helper with the tests' defaults, so `assert wait_until(...)`.
    """
    return polling.wait_until(condition, within_s=timeout_s, every_s=interval_s)


@contextlib.contextmanager
def running_process(
    argv: Sequence[str], ready_url: str | None, log_path: Path, timeout: float = 20.0
) -> Iterator[subprocess.Popen[bytes]]:
    """A real subprocess for the duration of the block, always stopped afterwards (even on failure)."""
    process = start_process(argv, ready_url, log_path, timeout)
    try:
        yield process
    finally:
        stop_process(process)
