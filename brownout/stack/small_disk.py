"""A component's data dir on a filesystem of its own size, so a `disk` fault can fill it and nothing else.

A disk-full fault may only fill a filesystem that holds at most its `limit_mb` (brownout.faults.drivers
.resource): filling a shared disk would fill it for every program on the machine. When a scenario plans one
against a component of a stack brownout starts, the stack mounts a tmpfs of `limit_mb` at that component's
data dir before starting it, and unmounts it once the component has stopped. Mounting needs root (or
CAP_SYS_ADMIN); where it is refused, the data dir stays on the shared disk and pre-flight refuses the fault
with the reason, so the fault is never a silent no-op.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("brownout.stack")

_MOUNT_TIMEOUT_S = 10.0
BALLAST_PREFIX = ".brownout-ballast-"  # brownout.faults.drivers.resource's fill, not the component's data


def mount_small_disk(data_dir: Path, size_mb: int) -> str | None:
    """Mount a tmpfs of `size_mb` at `data_dir`; None when done, else why not (the mount's own words)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(data_dir):
        return f"{data_dir} is already a mount point: brownout mounts only over a directory of its own"
    argv = ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "brownout-small-disk", str(data_dir)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_MOUNT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(argv)}` failed: {exc}"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        return f"`{' '.join(argv)}` failed: {said} (mounting needs root or CAP_SYS_ADMIN)"
    return None


def unmount_small_disk(data_dir: Path) -> bool:
    """Unmount brownout's tmpfs at `data_dir`, keeping what the component wrote there (not a disk fault's
    ballast) in the results as a plain directory; True if there was one to unmount."""
    if not _is_small_disk(data_dir):
        return False
    kept = data_dir.with_name(f".{data_dir.name}-kept")
    try:
        shutil.copytree(data_dir, kept, ignore=shutil.ignore_patterns(f"{BALLAST_PREFIX}*"), dirs_exist_ok=True)
    except OSError as exc:
        log.warning("could not keep the files of %s before unmounting it: %s", data_dir, exc)
    # lazily, so a process still in it cannot keep it mounted
    done = subprocess.run(["umount", "-l", str(data_dir)], capture_output=True, text=True,
                          timeout=_MOUNT_TIMEOUT_S, check=False)  # fmt: skip
    if done.returncode != 0:
        log.warning("could not unmount %s: %s", data_dir, done.stderr.strip())
        return False
    if kept.is_dir():
        shutil.copytree(kept, data_dir, dirs_exist_ok=True)
        shutil.rmtree(kept, ignore_errors=True)
    return True


def unmount_small_disks_under(root: Path) -> list[Path]:
    """Unmount every tmpfs brownout mounted under `root` (a killed run's leftovers); the ones it did."""
    data = root / "stack" / "data"
    if not data.is_dir():
        return []
    return [child for child in sorted(data.iterdir()) if child.is_dir() and unmount_small_disk(child)]


def _is_small_disk(path: Path) -> bool:
    """Only brownout's own mounts (their source is `brownout-small-disk`): never unmount someone else's."""
    if not os.path.ismount(path):
        return False
    target = str(path.resolve())
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[:2] == ["brownout-small-disk", target] for line in mounts if line.strip())


class SmallDisks:
    """The small data dirs of one stack: mounted before the components start, unmounted after they stop."""

    def __init__(self, sizes_mb: Mapping[str, int]) -> None:
        self._sizes = dict(sizes_mb)
        self._mounted: list[Path] = []

    def mount(self, data_dir_of: Mapping[str, Path]) -> None:
        for component, size in self._sizes.items():
            if component not in data_dir_of:
                continue  # not a component of this stack: pre-flight names the fault's unknown target
            problem = mount_small_disk(data_dir_of[component], size)
            if problem:
                log.warning("could not give %s a data dir of its own (%d MB) for a disk fault: %s; pre-flight "
                            "will refuse that fault", component, size, problem)  # fmt: skip
            else:
                self._mounted.append(data_dir_of[component])
                log.info("%s's data dir is a %d MB tmpfs of its own (for a disk fault)", component, size)

    def unmount(self) -> None:
        for data_dir in self._mounted:
            unmount_small_disk(data_dir)
        self._mounted = []
