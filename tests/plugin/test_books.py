"""The plugin's per-environment books live as long as their Locust environment, no longer."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO_ROOT

# In a subprocess: importing locust gevent-patches the interpreter, which pytest (and xdist) must not suffer.
_SCRIPT = """
import gc
from locust.env import Environment
from brownout.plugin import books, hooks
from brownout.plugin.books import books_for

first, second = Environment(user_classes=[]), Environment(user_classes=[])
hooks.acknowledge(first, "messages", "m-1")
hooks.acknowledge(second, "messages", "m-2")
assert books_for(first).ledger.acknowledged["messages"] == ["m-1"]
before = len(books._books)
del first
gc.collect()
assert len(books._books) == before - 1, (before, len(books._books))
assert books_for(second).ledger.acknowledged["messages"] == ["m-2"]
print("ok")
"""


def test_books_are_per_environment_and_released_with_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
