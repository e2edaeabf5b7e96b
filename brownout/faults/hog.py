"""The processes a `resource` fault starts: a CPU hog or a memory holder, each bounded three ways.

    python -m brownout.faults.hog cpu --cpu N --seconds S --parent PID
    python -m brownout.faults.hog memory --mb N --seconds S --parent PID

Each one stops by itself after S seconds, when its parent (the brownout process that started it) dies
(PR_SET_PDEATHSIG, and a parent-id check in case the parent died before prctl took effect), and on
SIGTERM (the heal). A CPU hog runs at normal priority on one CPU: a nice hog would yield to the component
and starve nothing. Standard library only: it starts fast and imports nothing of brownout.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1
_PAGE = 4096
_CHECK_EVERY_S = 0.2


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl: nobody would ever heal this hog
        sys.exit(0)


def _spin(cpu: int, seconds: float, parent: int) -> None:
    """Busy work on `cpu` until the deadline or the parent is gone; the parent check costs ~1 in 10^4 loops."""
    os.sched_setaffinity(0, {cpu})
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline and os.getppid() == parent:
        for _ in range(10_000):
            count += 1


def _hold(megabytes: int, seconds: float, parent: int) -> None:
    """Allocate and touch every page (untouched pages are not memory anyone lacks), say so, then wait."""
    held = bytearray(megabytes << 20)
    held[::_PAGE] = b"\x01" * len(range(0, len(held), _PAGE))
    print(f"held {megabytes}", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(_CHECK_EVERY_S)
    del held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brownout.faults.hog")
    parser.add_argument("what", choices=("cpu", "memory"))
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--mb", type=int, default=0)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with_parent(args.parent)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.what == "cpu":
        _spin(args.cpu, args.seconds, args.parent)
    else:
        _hold(args.mb, args.seconds, args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
