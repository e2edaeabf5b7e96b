"""Fixtures for supervisor tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brownout.stack import Stack
from tests.stack.stack_helpers import kill_leftovers, process_gone


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    """Stacks a test started; all stopped at teardown, and their processes killed if still there."""
    started: list[Stack] = []
    try:
        yield started
    finally:
        for stack in started:
            pids = [s.pid for s in stack.status() if s.pid is not None]
            stack.stop()
            kill_leftovers([p for p in pids if not process_gone(p)])
