"""Ctrl-C during a run reaches Locust's main greenlet, wherever the main thread happens to be.

Under gevent, a fault lane's thread is a greenlet of the main thread. Python raises KeyboardInterrupt in
whichever greenlet runs when SIGINT arrives, and a thread swallows it: the run went on and that lane
was dead, its fault never healed. (Seen once on a fresh clone: the Ctrl-C end-to-end test hung.)
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, sigint_as_in_a_terminal

# In a subprocess: importing the plugin imports locust, which gevent-patches the interpreter.
_CTRL_C_WHILE_A_LANE_WORKS = """
import os, signal, sys, threading, time
import gevent
if sys.argv[1] == "plugin":
    from brownout.plugin.hooks import _ctrl_c_into_this_greenlet
    _ctrl_c_into_this_greenlet()
else:
    from gevent import monkey
    monkey.patch_all()

def lane_at_work():  # pure Python, so the SIGINT's handler runs in this greenlet
    os.kill(os.getpid(), signal.SIGINT)
    until = time.monotonic() + 1.0
    while time.monotonic() < until:
        pass

threading.Thread(target=lane_at_work, daemon=True).start()
try:
    gevent.sleep(3)  # where Locust's main greenlet waits for the run
    print("lost")
except KeyboardInterrupt:
    print("delivered")
"""


@pytest.mark.parametrize(("handler", "outcome"), [("python", "lost"), ("plugin", "delivered")])
def test_ctrl_c_while_a_fault_lane_runs_reaches_the_main_greenlet(handler: str, outcome: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_A_LANE_WORKS, handler],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, preexec_fn=sigint_as_in_a_terminal,
    )  # fmt: skip
    assert done.stdout.strip() == outcome, done.stderr[-2000:]
