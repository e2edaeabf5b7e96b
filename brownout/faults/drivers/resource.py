"""`resource` faults on one stack component: CPU hogs beside it, memory held, its data dir's disk full, its
clock offset (README "Resource faults"). Each inject says in its evidence what it did (hog pids, MB held,
bytes written, offset read back) and each heal undoes it; `refusal` says what this machine cannot do, for
pre-flight (exit 2) and again at inject, so nothing is ever silently skipped.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import requests

from brownout.errors import FaultError
from brownout.faults.drivers.base import Evidence, call
from brownout.faults.drivers.component import read_component, running_and_ready
from brownout.faults.kinds import ResourceParams
from brownout.net.loopback import session_for
from brownout.net.polling import wait_until
from brownout.stack.small_disk import BALLAST_PREFIX

MEMORY_SHARE = 0.5  # the most of MemAvailable a memory fault may hold: the machine must keep running brownout
HOG_GRACE_S = 2.0  # a hog outlives the fault's planned end by this much at most, if no heal came
UNPLANNED_HOG_S = 600.0  # a fault without a planned duration (one fired by hand) ends its hogs after this
LIBFAKETIME_GLOBS = ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1")
LIBFAKETIME_FIX = "apt-get install -y libfaketime"
_MB = 1 << 20


def libfaketime() -> str | None:
    """Where libfaketime is, or None."""
    found = sorted(path for pattern in LIBFAKETIME_GLOBS for path in glob.glob(pattern))
    return found[0] if found else None


def refusal(params: ResourceParams, data_dir: Path | None) -> str | None:
    """Why this machine cannot do the fault (a sentence with the fix), or None when it can."""
    if params.resource == "memory":
        available = psutil.virtual_memory().available // _MB
        assert params.limit_mb is not None
        if params.limit_mb > available * MEMORY_SHARE:
            return (f"limit_mb {params.limit_mb} is more than {MEMORY_SHARE:.0%} of the {available} MB available: "
                    "holding it could get brownout itself killed; lower limit_mb")  # fmt: skip
    if params.resource == "clock" and libfaketime() is None:
        return f"libfaketime is not installed (looked for {', '.join(LIBFAKETIME_GLOBS)}): {LIBFAKETIME_FIX}"
    if params.resource == "disk":
        return _disk_refusal(params, data_dir)
    return None


def _disk_refusal(params: ResourceParams, data_dir: Path | None) -> str | None:
    if params.mode == "slow":
        return ("mode 'slow' is not available: slowing one directory takes a throttled block device (cgroup "
                "io.max / blkio throttling, dm-delay) or a FUSE layer, which brownout does not set up")  # fmt: skip
    if data_dir is None or not data_dir.is_dir():
        return f"no data directory to fill ({data_dir or 'the target is not a stack brownout started'})"
    free_mb = shutil.disk_usage(data_dir).free / _MB
    if free_mb > (params.limit_mb or 0):
        return (f"the filesystem of {data_dir} has {free_mb:.0f} MB free, more than limit_mb {params.limit_mb}: "
                "brownout fills only a filesystem it can fill within limit_mb (a shared disk would fill for "
                "everyone). A stack brownout starts gives the component a tmpfs of limit_mb as its data dir when "
                "the scenario plans the disk fault and brownout may mount (root or CAP_SYS_ADMIN; the stack's "
                "log says why it could not); a fault made by hand in the web UI has no such dir unless the "
                "scenario plans one for the same component; or raise limit_mb past the free space to fill that "
                "filesystem for everyone")  # fmt: skip
    return None


@dataclass(frozen=True)
class ResourceTarget:
    """Where a resource fault reaches its component: the control API (pid, restart), data dir, HTTP URL."""

    control_url: str
    token: str | None
    data_dir: Path | None
    url: str | None
    hog_seconds: float  # the fault's duration plus HOG_GRACE_S: the latest a hog stops by itself


def hog_seconds(duration_s: float) -> float:
    return duration_s + HOG_GRACE_S if duration_s > 0 else UNPLANNED_HOG_S


class ResourceDriver:
    """Dispatches to the resource's inject and heal; keeps what it started (hog processes, ballast file)."""

    def __init__(self, target: ResourceTarget, params: ResourceParams, fault_name: str) -> None:
        self.target, self.params, self.fault_name = target, params, fault_name
        self._session = session_for(target.control_url, target.token)
        self._hogs: list[subprocess.Popen[bytes]] = []

    def _component(self) -> dict[str, Any]:
        return read_component(self._session, self.target.control_url, self.params.component, self.fault_name)

    def _refuse_if_impossible(self) -> None:
        problem = refusal(self.params, self.target.data_dir)
        if problem:
            raise FaultError(f"cannot inject fault {self.fault_name!r}: resource {self.params.resource!r}: {problem}")

    def inject(self) -> Evidence:
        self._refuse_if_impossible()
        return dict(getattr(self, f"_inject_{self.params.resource}")())

    def heal(self) -> Evidence:
        return dict(getattr(self, f"_heal_{self.params.resource}")())

    # ---- cpu and memory: processes of brownout's own, stopped by the heal ----------------------------

    def _pid(self) -> int:
        state = self._component()
        if state.get("pid") is None:
            raise FaultError(f"cannot inject fault {self.fault_name!r}: component {self.params.component!r} "
                             f"is {state.get('state')}, no process to starve")  # fmt: skip
        return int(state["pid"])

    def _start_hog(self, *args: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "brownout.faults.hog", *args,
                "--seconds", f"{self.target.hog_seconds:g}", "--parent", str(os.getpid())]  # fmt: skip
        hog = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, close_fds=True)
        self._hogs.append(hog)
        return hog

    def _inject_cpu(self) -> Evidence:
        pid = self._pid()
        cpus = sorted(os.sched_getaffinity(pid))
        count = self.params.cpus or len(cpus)
        hogs = [self._start_hog("cpu", "--cpu", str(cpus[i % len(cpus)])) for i in range(count)]
        return {"resource": "cpu", "pid": pid, "cpus": cpus, "hog_pids": [hog.pid for hog in hogs],
                "hog_seconds": self.target.hog_seconds}  # fmt: skip

    def _inject_memory(self) -> Evidence:
        pid = self._pid()
        before = psutil.virtual_memory().available // _MB
        hog = self._start_hog("memory", "--mb", str(self.params.limit_mb))
        assert hog.stdout is not None
        said = hog.stdout.readline().decode().split()  # "held N" once every page is touched
        if said[:1] != ["held"]:
            self._stop_hogs()
            raise FaultError(f"cannot inject fault {self.fault_name!r}: the memory holder exited with {hog.wait()} "
                             f"before holding {self.params.limit_mb} MB")  # fmt: skip
        held = psutil.Process(hog.pid).memory_info().rss // _MB
        after = psutil.virtual_memory().available // _MB
        return {"resource": "memory", "pid": pid, "hog_pids": [hog.pid], "held_mb": held,
                "available_mb_before": before, "available_mb_after": after}  # fmt: skip

    def _stop_hogs(self) -> Evidence:
        stopped = 0
        for hog in self._hogs:
            if hog.poll() is None:
                hog.terminate()
                stopped += 1
            try:
                hog.wait(timeout=5)
            except subprocess.TimeoutExpired:
                hog.kill()
                hog.wait(timeout=5)
            if hog.stdout is not None:
                hog.stdout.close()
        gone = [hog.pid for hog in self._hogs]
        self._hogs = []
        return {"hogs_stopped": stopped, "hog_pids_gone": gone}

    def _heal_cpu(self) -> Evidence:
        return self._stop_hogs()

    def _heal_memory(self) -> Evidence:
        evidence = self._stop_hogs()
        return evidence | {"available_mb_after_heal": psutil.virtual_memory().available // _MB}

    # ---- disk: a ballast file in the component's data dir ------------------------------------------

    @property
    def _ballast(self) -> Path:
        assert self.target.data_dir is not None
        return self.target.data_dir / f"{BALLAST_PREFIX}{self.fault_name.replace('/', '_')}"

    def _inject_disk(self) -> Evidence:
        assert self.target.data_dir is not None and self.params.limit_mb is not None
        before = shutil.disk_usage(self.target.data_dir).free
        written = fill(self._ballast, self.params.limit_mb * _MB)
        after = shutil.disk_usage(self.target.data_dir).free
        return {"resource": "disk", "mode": "full", "ballast": str(self._ballast), "written_bytes": written,
                "free_bytes_before": before, "free_bytes_after": after}  # fmt: skip

    def _heal_disk(self) -> Evidence:
        if self.target.data_dir is None:
            return {"removed": False}
        existed = self._ballast.exists()
        with contextlib.suppress(FileNotFoundError):
            self._ballast.unlink()
        return {"removed": existed, "free_bytes_after_heal": shutil.disk_usage(self.target.data_dir).free}

    # ---- clock: the component restarted under libfaketime --------------------------------------------

    def _restart(self, env: dict[str, str]) -> dict[str, Any]:
        name = quote(self.params.component, safe="")
        response = call(self._session, "POST", f"{self.target.control_url}/components/{name}/restart",
                        json={"env": env}, timeout=self.params.ready_timeout_s + 10,
                        what=f"restart component {self.params.component!r} (fault {self.fault_name!r})")  # fmt: skip
        body = response.json() if response.content else {}
        if not running_and_ready(body):
            raise FaultError(f"fault {self.fault_name!r}: {self.params.component!r} is not ready after the restart")
        return dict(body)

    def _inject_clock(self) -> Evidence:
        assert self.params.offset_s is not None
        library = libfaketime()
        assert library is not None
        env = faketime_env(library, self.params.offset_s)
        state = self._restart(env)
        return {"resource": "clock", "pid": state.get("pid"), "faketime": env["FAKETIME"],
                "offset_read_back_s": read_offset(self.target.url)}  # fmt: skip

    def _heal_clock(self) -> Evidence:
        state = self._restart({})
        return {"pid_after_heal": state.get("pid"), "offset_after_heal_s": read_offset(self.target.url)}


def faketime_env(library: str, offset_s: float) -> dict[str, str]:
    """libfaketime's env for a fixed offset; monotonic clocks stay real, so timeouts and event loops are sane."""
    preload = " ".join(part for part in (os.environ.get("LD_PRELOAD", ""), library) if part)
    return {"LD_PRELOAD": preload, "FAKETIME": f"{offset_s:+g}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def fill(path: Path, limit: int) -> int:
    """Write zeros to `path` until the filesystem says ENOSPC or `limit` bytes are written; the bytes written.

    Chunks shrink near the end, so the last free blocks are taken too (a 1 MiB write can fail where 4 KiB fit).
    """
    written, chunk = 0, _MB
    with path.open("wb", buffering=0) as ballast:
        while written < limit and chunk >= 512:
            try:
                written += ballast.write(bytes(min(chunk, limit - written)))
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                chunk //= 8
    return written


def read_offset(url: str | None) -> float | None:
    """The component's clock minus ours, from the HTTP `Date` header of its /healthz (1 s resolution)."""
    if not url:
        return None

    def probe() -> float | None:
        try:
            with session_for(url) as session:
                date = session.get(f"{url}/healthz", timeout=5).headers.get("Date")
        except requests.RequestException:
            return None
        return None if date is None else parsedate_to_datetime(date).timestamp() - time.time()

    answer = wait_until(probe, done=lambda found: found is not None, within_s=5, every_s=0.2)
    return None if answer is None else round(answer)
