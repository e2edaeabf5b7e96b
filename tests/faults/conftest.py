from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.support import RecordingServer


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer().running() as running:
        yield running
