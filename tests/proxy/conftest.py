"""Fixtures for the fault proxy tests: real `brownout proxy` processes and echo backends on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.proxy.proxy_support import Api, ProxyProcess, Spawner


@pytest.fixture(scope="module")
def module_spawner() -> Iterator[Spawner]:
    spawner = Spawner()
    try:
        yield spawner
    finally:
        spawner.stop_all()


@pytest.fixture
def spawner() -> Iterator[Spawner]:
    spawner = Spawner()
    try:
        yield spawner
    finally:
        spawner.stop_all()


@pytest.fixture(scope="module")
def proxy_server(module_spawner: Spawner) -> ProxyProcess:
    return module_spawner.proxy()


@pytest.fixture(scope="module")
def echo_port(module_spawner: Spawner) -> int:
    return module_spawner.echo_backend()


@pytest.fixture(scope="module")
def greeting_port(module_spawner: Spawner) -> int:
    return module_spawner.echo_backend(greeting="hello\n")


@pytest.fixture
def api(proxy_server: ProxyProcess) -> Iterator[Api]:
    client = Api(proxy_server.url)
    try:
        yield client
    finally:
        client.clear()
