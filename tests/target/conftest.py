"""Fixtures: the sample target's real processes on free ports, always stopped afterwards.

`SampleStack` is imported inside the fixtures: it pulls in requests (and so ssl), and a conftest is loaded
before Locust's gevent monkey-patching in other test modules, which must come before ssl is imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.target.sample_stack import SampleStack


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleStack]:
    """One stack for tests that only talk to it (no kills, no faults left behind)."""
    from tests.target.sample_stack import SampleStack

    stack = SampleStack(tmp_path_factory.mktemp("shared-stack"))
    try:
        yield stack.start_all()
    finally:
        stack.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SampleStack]:
    """A stack of its own, for tests that kill, freeze or fault its processes."""
    from tests.target.sample_stack import SampleStack

    stack = SampleStack(tmp_path)
    try:
        yield stack.start_all()
    finally:
        stack.close()
