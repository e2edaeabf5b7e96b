"""Real processes on 127.0.0.1 for the benchmarks (and the tests, through tests/helpers.py): start one and
wait until it answers, wait until a port listens, stop one cleanly, find the reference Toxiproxy binary.

Standard library and brownout's poll helper only: importing `requests` (urllib3) here would import ssl
before Locust's gevent monkey-patching in modules that import this one first, which ends in a RecursionError.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from brownout.net.polling import wait_until

REPO_ROOT = Path(__file__).resolve().parents[1]


def toxiproxy_binary() -> Path | None:
    """The real Toxiproxy 2.8.0 server to compare `brownout proxy` with, or None where there is none.

    Env BROWNOUT_TOXIPROXY, else ../shared/anchors/toxiproxy-server beside the repository or beside its
    worktree folder (a reference binary, not a dependency: users and a fresh machine don't have it).
    """
    candidates = [os.environ.get("BROWNOUT_TOXIPROXY", "")]
    bases = (REPO_ROOT.parent, REPO_ROOT.parent.parent)
    candidates += [str(base / "shared/anchors/toxiproxy-server") for base in bases]
    return next((Path(c) for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def _still_running(process: subprocess.Popen[Any] | None, waiting_for: str) -> None:
    """Fail at once, not at the timeout, when the process we wait on has exited."""
    if process is not None and process.poll() is not None:
        raise RuntimeError(f"process exited with code {process.returncode} before {waiting_for}")


def wait_listening(port: int, process: subprocess.Popen[Any] | None = None, timeout_s: float = 15.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`; fail at once if `process` exits."""

    def listening() -> bool:
        _still_running(process, f"port {port} listened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    if not wait_until(listening, within_s=timeout_s, every_s=0.05):
        raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


def _http_problem(url: str) -> str | None:
    """None once `url` answers 200; else what it did instead (for the timeout's message)."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, reset, timed out; URLError is an OSError
        return type(exc).__name__


def wait_http_ok(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers 200; fail after `timeout` s, or at once if `process` has exited."""

    def problem() -> str | None:
        _still_running(process, f"{url} answered 200")
        return _http_problem(url)

    last = wait_until(problem, done=lambda found: found is None, within_s=timeout, every_s=0.05)
    if last is not None:
        raise TimeoutError(f"{url} did not answer 200 within {timeout} s (last: {last})")


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
