"""The one poll-until-deadline wait: ask a probe again and again until its answer will do or time is up
(a component ready again, a process stopped, a supervisor gone, a target answering, workers' last reports).

Built on tenacity, with the clock and sleep injectable (tenacity style) so a test can drive a wait without
waiting. Under gevent (the Locust plugin) `time.sleep` is monkey-patched, so a wait there yields to the
other greenlets; a caller that must yield even without the patch passes `sleep=gevent.sleep`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import tenacity

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    *,
    within_s: float,
    every_s: float,
    done: Callable[[T], Any] = bool,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Ask `probe` (at once, then every `every_s`) until `done(answer)` holds or `within_s` has passed; the
    last answer, so the caller tells "done" from "timed out" with the same `done`.

    The probe is always asked at least once. What it raises is not retried: it propagates at once (a probe
    that means "not yet" by an error catches it and answers so).
    """
    deadline = clock() + within_s
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_not_result(done),
        stop=lambda _: clock() >= deadline,  # our clock, not tenacity's own, so it can be injected
        wait=tenacity.wait_fixed(every_s),
        sleep=sleep,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    return retrying(probe)
