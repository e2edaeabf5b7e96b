"""Fixtures: the sample target's real processes on free ports, always stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.target.sample_stack import SampleStack


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleStack]:
    """One stack for tests that only talk to it (no kills, no faults left behind)."""
    stack = SampleStack(tmp_path_factory.mktemp("shared-stack"))
    try:
        yield stack.start_all()
    finally:
        stack.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SampleStack]:
    """A stack of its own, for tests that kill, freeze or fault its processes."""
    stack = SampleStack(tmp_path)
    try:
        yield stack.start_all()
    finally:
        stack.close()
