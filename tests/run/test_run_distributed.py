"""Locust's distributed mode: the master merges the workers' timeline buckets, and its totals are Locust's."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from brownout.history import load_history
from tests.helpers import REPO_ROOT, free_port
from tests.run.conftest import SCENARIOS, everything, locust_total, run_dir_of

_LOCUST_MASTER_PORT = 5557  # Locust's default


@contextlib.contextmanager
def _another_run_on_locusts_default_port() -> Iterator[None]:
    try:
        held = socket.create_server(("127.0.0.1", _LOCUST_MASTER_PORT))
    except OSError:  # somebody has it already: the same situation
        yield
        return
    with held:
        yield


def test_distributed_timeline_totals_equal_locusts_own(tmp_path: Path, run_brownout) -> None:
    # Master and workers use a port of the run's own: Locust's default one being taken does not matter.
    with _another_run_on_locusts_default_port():
        done = run_brownout(str(SCENARIOS / "steady.toml"), "--out", str(tmp_path), "--workers", "2", "--no-report")
    assert done.returncode == 0, done.stderr[-3000:]
    results = run_dir_of(tmp_path)
    recorded = everything(load_history(results).timeline)
    requests, failures = locust_total(results)
    assert requests > 20  # some traffic through both workers (how much depends on the machine, not on brownout)
    assert (recorded.total, recorded.failed) == (requests, failures)


def test_master_and_two_workers_started_separately_record_exactly_locusts_totals(tmp_path: Path) -> None:
    results = tmp_path / "run"
    port = free_port()
    locust = [sys.executable, "-m", "locust", "-f", str(REPO_ROOT / "locustfiles" / "recovery.py")]
    master = subprocess.Popen(
        [*locust, "--master", "--headless", "--expect-workers", "2", "--master-bind-host", "127.0.0.1",
         "--master-bind-port", str(port), "--brownout-scenario", str(SCENARIOS / "steady.toml"),
         "--brownout-out", str(results), "--csv", str(results / "locust"), "--only-summary"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        _, errors = master.communicate(timeout=120)
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert master.returncode == 0, errors[-3000:]
    recorded = everything(load_history(results).timeline)
    requests, failures = locust_total(results)
    assert requests > 20  # some traffic through both workers (how much depends on the machine, not on brownout)
    assert (recorded.total, recorded.failed) == (requests, failures)
