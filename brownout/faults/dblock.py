"""`python -m brownout.faults.dblock DB [--acquire-timeout S]`: hold `BEGIN EXCLUSIVE` on a SQLite file
until stdin closes or SIGTERM arrives.

A process of its own, not a thread: inside a gevent-patched Locust process a thread is a greenlet, and
SQLite's busy wait would freeze every simulated user while the lock is being acquired.
Prints `locked` on stdout once the lock is held; exits 3 with the reason on stderr if it cannot be taken.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brownout.faults.dblock")
    parser.add_argument("db")
    parser.add_argument("--acquire-timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        connection = sqlite3.connect(args.db, timeout=args.acquire_timeout, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
    except sqlite3.Error as exc:
        print(f"cannot lock {args.db} within {args.acquire_timeout:g}s: {exc}", file=sys.stderr, flush=True)
        return 3
    print("locked", flush=True)
    try:
        sys.stdin.read()  # until the driver closes our stdin (heal) or dies
    finally:
        connection.execute("ROLLBACK")
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
