"""Small utilities for tests that run real processes on 127.0.0.1: free ports, readiness, clean stops.

Standard library only: importing `requests` (urllib3) here would import ssl before Locust's gevent
monkey-patching in modules that import this one first, which ends in a RecursionError.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from brownout.net.ports import free_port as free_port  # re-exported for the tests

REPO_ROOT = Path(__file__).resolve().parents[1]
BROWNOUT = [sys.executable, "-m", "brownout"]  # the CLI, as the installed `brownout` script runs it
T = TypeVar("T")


def sigint_as_in_a_terminal() -> None:
    """A `preexec_fn` for a child that a test will Ctrl-C.

    A job started in the background by a non-interactive shell (`make test &`) inherits SIGINT ignored, and
    Python then installs no KeyboardInterrupt handler. A terminal's foreground job has the default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def toxiproxy_binary() -> Path | None:
    """The real Toxiproxy 2.8.0 server to compare `brownout proxy` with, or None where there is none.

    Env BROWNOUT_TOXIPROXY, else ../shared/anchors/toxiproxy-server beside the repository or beside its
    worktree folder (a reference binary, not a dependency: users and a fresh machine don't have it).
    """
    candidates = [os.environ.get("BROWNOUT_TOXIPROXY", "")]
    bases = (REPO_ROOT.parent, REPO_ROOT.parent.parent)
    candidates += [str(base / "shared/anchors/toxiproxy-server") for base in bases]
    return next((Path(c) for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def wait_until(condition: Callable[[], T], timeout_s: float = 10.0, interval_s: float = 0.05) -> T:
    """Poll `condition` until it answers something truthy or `timeout_s` has passed; answer its last answer."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval_s)
    return condition()


def wait_listening(port: int, process: subprocess.Popen[Any] | None = None, timeout_s: float = 15.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`; fail at once if `process` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before port {port} listened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


def wait_http_ok(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers 200; fail after `timeout` s, or at once if `process` has exited."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before {url} answered 200")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:  # refused, reset, timed out; URLError is an OSError
            last_error = type(exc).__name__
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s (last: {last_error})")


def start_process(
    argv: Sequence[str], ready_url: str | None, log_path: Path, timeout: float = 20.0
) -> subprocess.Popen[bytes]:
    """Start `argv` (cwd: the repo root) with output to `log_path`; wait until `ready_url` answers 200.

    On a readiness failure the process is stopped and the error carries the tail of its log.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(list(argv), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    if ready_url is not None:
        try:
            wait_http_ok(ready_url, timeout, process)
        except (RuntimeError, TimeoutError) as exc:
            stop_process(process)
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv)}: {exc}\n--- log tail ---\n{tail}") from None
    return process


def stop_process(process: subprocess.Popen[Any], timeout: float = 5.0) -> int | None:
    """SIGTERM (after SIGCONT, in case it is frozen), wait, then SIGKILL; answer the exit code."""
    if process.poll() is not None:
        return process.returncode
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=timeout)


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
