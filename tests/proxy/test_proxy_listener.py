"""The proxy's listener and upstream connects (listener.py) under pressure, with real processes and sockets."""

from __future__ import annotations

import resource
import socket
from collections.abc import Callable
from contextlib import ExitStack

import pytest

from tests.helpers import wait_until
from tests.proxy.proxy_support import Api, Spawner


def _files_limited_to(limit: int, hard: int | None = None) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard or limit))


def _echoes(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"ping")
            return sock.recv(16) == b"ping"
    except OSError:
        return False


# The proxy itself holds about 20 descriptors. Each proxied connection takes two, so one of two limits
# runs out on accept() and the other on the upstream's socket().
@pytest.mark.parametrize("limit", [40, 41])
def test_running_out_of_file_descriptors_turns_clients_away_and_then_serves_again(spawner: Spawner, limit: int) -> None:
    echo_port = spawner.echo_backend()
    proxy = spawner.proxy(preexec_fn=_files_limited_to(limit))
    api = Api(proxy.url)
    created = api.call("POST", "/proxies", {"name": "p", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_port}"})
    port = int(created.json()["listen"].rsplit(":", 1)[1])
    with ExitStack() as held:
        for _ in range(limit):  # more connections than the proxy has descriptors for
            held.enter_context(socket.create_connection(("127.0.0.1", port), timeout=2))
        assert not _echoes(port)  # turned away (closed, or left in the queue), not crashed
    # Before the fix, a failed socket() for the upstream raised in the accept callback, which stopped it
    # for good: the proxy never accepted again.
    assert wait_until(lambda: _echoes(port), 10)
    assert api.call("GET", "/proxies").status_code == 200


def test_the_soft_file_limit_is_raised_to_the_hard_one_as_go_does(spawner: Spawner) -> None:
    echo_port = spawner.echo_backend()
    proxy = spawner.proxy(preexec_fn=_files_limited_to(40, hard=1024))
    api = Api(proxy.url)
    body = {"name": "p", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_port}"}
    port = int(api.call("POST", "/proxies", body).json()["listen"].rsplit(":", 1)[1])
    with ExitStack() as held:
        for _ in range(60):  # 120 descriptors in the proxy: three times the soft limit it was given
            sock = held.enter_context(socket.create_connection(("127.0.0.1", port), timeout=2))
            sock.sendall(b"ping")
            assert sock.recv(16) == b"ping"
