"""A lane: one fault's own worker thread, running its actions (inject, then heal) in order.

Lanes are started before the schedule begins, so firing a fault is a queue put, not a thread start
(a thread start waits for the new thread to get the GIL, which costs tens of ms on a busy process).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("brownout.faults")


class Lane:
    def __init__(self, name: str) -> None:
        self._actions: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"fault-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, action: Callable[[], None]) -> None:
        self._actions.put(action)

    def close(self) -> None:
        """No more actions: the lane finishes what it has and ends."""
        self._actions.put(None)

    def _run(self) -> None:
        while True:
            action = self._actions.get()
            if action is None:
                return
            try:
                action()
            except Exception:  # the scheduler's actions catch driver errors; this is a last resort
                log.exception("fault lane %s: action failed", self._thread.name)

    @property
    def is_current(self) -> bool:
        return self._thread is threading.current_thread()

    def join(self, timeout_s: float) -> bool:
        if self.is_current or not self._thread.is_alive():
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


def close_and_join(lanes: Sequence[Lane], timeout_s: float) -> bool:
    """Close every lane and wait (in total at most timeout_s) for all to finish; True if they did."""
    for lane in lanes:
        lane.close()
    deadline = time.monotonic() + timeout_s
    return all(lane.join(max(0.0, deadline - time.monotonic())) for lane in lanes)
