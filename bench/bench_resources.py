"""`python -m bench resources`: each `resource` fault's effect on the sample gateway, and its heal undoing it.

cpu: the gateway's CPU share (psutil) and requests/s under a bounded keep-alive load, before, with hogs
beside it, after the heal. memory: MB held and MemAvailable. disk: the gateway's data dir on a 16 MB tmpfs
(root only, else the refusal is printed): free bytes and how many of its writes failed. clock: the offset
read back from the gateway's `Date` header. About 40 s on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from brownout.errors import FaultError
from brownout.faults.drivers import build_driver
from brownout.faults.endpoints import Endpoints, endpoints_from_description
from brownout.faults.kinds import ResourceParams
from brownout.net.loopback import session_for
from brownout.scenario.schema import FaultSpec
from brownout.scenario.shipped import SAMPLE_STACK
from brownout.stack import Stack

LOAD_S = 4.0  # one measured phase
CLIENTS = 2


def _driver(endpoints: Endpoints, params: ResourceParams) -> Any:
    spec = FaultSpec(index=0, name=f"bench-{params.resource}", target="gateway", kind="resource", params=params,
                     duration_s=60.0, at_s=0.0)  # fmt: skip
    return build_driver(spec, endpoints)


def _load(url: str, stop_at: float, counts: list[int]) -> None:
    """One keep-alive client: GET /healthz until stop_at (bounded by time), counting answers."""
    with session_for(url) as session:
        while time.monotonic() < stop_at:
            session.get(f"{url}/healthz", timeout=5)
            counts.append(1)


def _busy_phase(stack: Stack) -> tuple[float, float]:
    """The gateway's CPU % (of one core) and requests/s while CLIENTS clients load it for LOAD_S."""
    gateway = psutil.Process(stack.component_status("gateway").pid)
    counts: list[int] = []
    stop_at = time.monotonic() + LOAD_S
    clients = [threading.Thread(target=_load, args=(stack.url("gateway"), stop_at, counts)) for _ in range(CLIENTS)]
    gateway.cpu_percent(None)
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    return gateway.cpu_percent(None), len(counts) / LOAD_S


def cpu(stack: Stack, endpoints: Endpoints) -> None:
    before = _busy_phase(stack)
    driver = _driver(endpoints, ResourceParams("gateway", "cpu", cpus=2))
    evidence = driver.inject()
    try:
        during = _busy_phase(stack)
    finally:
        driver.heal()
    after = _busy_phase(stack)
    print(f"cpu: hogs {evidence['hog_pids']} on CPUs {evidence['cpus']}")
    for label, (share, rate) in (("before", before), ("with hogs", during), ("after heal", after)):
        print(f"  {label:>10}: gateway CPU {share:5.1f} %, {rate:6.0f} req/s")


def memory(endpoints: Endpoints) -> None:
    driver = _driver(endpoints, ResourceParams("gateway", "memory", limit_mb=512))
    evidence = driver.inject()
    healed = driver.heal()
    print(f"memory: held {evidence['held_mb']} MB; MemAvailable {evidence['available_mb_before']} -> "
          f"{evidence['available_mb_after']} MB, after heal {healed['available_mb_after_heal']} MB")  # fmt: skip


def _writes(stack: Stack, count: int = 10) -> int:
    """How many of `count` POST /threads (each a SQLite write) failed."""
    with session_for(stack.url("gateway")) as session:
        return sum(session.post(f"{stack.url('gateway')}/threads", json={}, timeout=10).status_code >= 500
                   for _ in range(count))  # fmt: skip


def disk(stack: Stack, endpoints: Endpoints) -> None:
    driver = _driver(endpoints, ResourceParams("gateway", "disk", mode="full", limit_mb=64))
    try:
        evidence = driver.inject()
    except FaultError as exc:
        print(f"disk: refused: {exc}")
        return
    failed = _writes(stack)
    healed = driver.heal()
    print(f"disk: free {evidence['free_bytes_before']} -> {evidence['free_bytes_after']} bytes "
          f"({evidence['written_bytes']} written); {failed}/10 gateway writes failed; after heal free "
          f"{healed['free_bytes_after_heal']}, {_writes(stack)}/10 failed")  # fmt: skip


def clock(endpoints: Endpoints) -> None:
    driver = _driver(endpoints, ResourceParams("gateway", "clock", offset_s=30.0))
    try:
        evidence = driver.inject()
    except FaultError as exc:
        print(f"clock: refused: {exc}")
        return
    healed = driver.heal()
    print(f"clock: FAKETIME={evidence['faketime']}: offset read back {evidence['offset_read_back_s']} s "
          f"(Date header, 1 s resolution); after heal {healed['offset_after_heal_s']} s")  # fmt: skip


def _mount_small_fs(data_dir: Path) -> bool:
    if os.geteuid() != 0:
        return False
    data_dir.mkdir(parents=True)
    mount = ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(data_dir)]
    return subprocess.run(mount, check=False).returncode == 0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-resources-") as scratch:
        run_dir = Path(scratch)
        mounted = _mount_small_fs(run_dir / "data" / "gateway")
        try:
            with Stack.start(SAMPLE_STACK, run_dir, ephemeral_ports=True) as stack:
                endpoints = endpoints_from_description(stack.describe(), "the bench's stack")
                cpu(stack, endpoints)
                memory(endpoints)
                disk(stack, endpoints)
                clock(endpoints)
        finally:
            if mounted:
                subprocess.run(["umount", "-l", str(run_dir / "data" / "gateway")], check=False)
