from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.support import RecordingServer
from tests.proxy.conftest import spawner  # noqa: F401 (the proxy tests' fixture: real proxies, stopped at teardown)


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer().running() as running:
        yield running
