"""Real Locust runs of plain_locustfile.py against plain_app.py on free loopback ports (tests and bench)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.support import stop_process, wait_listening
from brownout.net.ports import free_port

HERE = Path(__file__).resolve().parent
APP = HERE / "plain_app.py"
LOCUSTFILE = HERE / "plain_locustfile.py"
LOCUST = Path(sys.executable).with_name("locust")



@contextlib.contextmanager
def plain_app(delay_ms: float) -> Iterator[str]:
    """Start the app with this delay on a free port; yield its URL; stop it however the block ends."""
    for _attempt in range(3):  # another process may take the port between probing and binding
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, str(APP), "--port", str(port), "--delay-ms", str(delay_ms)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # nobody reads it while the app runs: a full pipe would block it
        )
        try:
            wait_listening(port, process)
        except (RuntimeError, TimeoutError):
            stop_process(process)
            continue
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(process)
        return
    raise RuntimeError("could not start plain_app on a free port in 3 attempts")


def run_locust_concurrently(runs: dict[Path, str], seconds: int = 6, users: int = 5) -> None:
    """Run one headless Locust per `prefix -> host URL` at the same time; each writes PREFIX_stats.csv."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    processes: dict[Path, subprocess.Popen[bytes]] = {}
    try:
        for prefix, host in runs.items():
            prefix.parent.mkdir(parents=True, exist_ok=True)
            processes[prefix] = subprocess.Popen(
                [
                    str(LOCUST),
                    "-f",
                    str(LOCUSTFILE),
                    "--headless",
                    "-u",
                    str(users),
                    "-r",
                    str(users),
                    "-t",
                    f"{seconds}s",
                    "--csv",
                    str(prefix),
                    "--host",
                    host,
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                    "--exit-code-on-error",
                    "0",
                ],  # fmt: skip
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
        for prefix, process in processes.items():
            _, stderr = process.communicate(timeout=seconds + 60)
            if process.returncode != 0 or not Path(f"{prefix}_stats.csv").is_file():
                raise RuntimeError(
                    f"locust for {prefix} failed ({process.returncode}): {stderr.decode()[-2000:]}"
                )
    finally:
        for process in processes.values():
            stop_process(process)
