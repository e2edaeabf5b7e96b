"""What a proxy carried (`GET /proxies/{name}/traffic`, `/metrics`): the evidence a network fault reached
the service. Real `brownout proxy` processes; `/metrics` also against the real Toxiproxy 2.8.0."""

from __future__ import annotations

import re
import socket

import pytest

from brownout.net.ports import free_port
from tests.helpers import toxiproxy_binary, wait_listening, wait_until
from tests.proxy.proxy_support import Api, Spawner


def _round_trip(port: int, payload: bytes) -> bytes:
    """Send `payload` through the proxy to the echo backend and read it all back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_traffic_counts_connections_and_bytes_each_way_and_the_idle_time(api: Api, echo_port: int) -> None:
    port = api.create_proxy("db", echo_port)
    assert api.call("GET", "/proxies/db/traffic").json() == {
        "connections": 0, "bytes_upstream": 0, "bytes_downstream": 0, "idle_s": None,
    }  # fmt: skip
    assert _round_trip(port, b"x" * 1000) == b"x" * 1000
    api.add_toxic("db", "latency", latency=10)  # the toxic path counts too
    assert _round_trip(port, b"y" * 300) == b"y" * 300
    shown = wait_until(lambda: api.call("GET", "/proxies/db/traffic").json(), timeout_s=5)
    assert (shown["connections"], shown["bytes_upstream"], shown["bytes_downstream"]) == (2, 1300, 1300)
    assert 0 <= shown["idle_s"] < 2
    # Disabling (a `down` fault) keeps the counts: the evidence spans the window.
    assert api.call("POST", "/proxies/db", {"enabled": False}).status_code == 200
    assert api.call("GET", "/proxies/db/traffic").json()["connections"] == 2
    assert wait_until(lambda: api.call("GET", "/proxies/db/traffic").json()["idle_s"] >= 0.5, timeout_s=5)
    missing = api.call("GET", "/proxies/ghost/traffic")
    assert (missing.status_code, missing.json()["error"]) == (404, "proxy not found: 'ghost'")
    # The traffic route is brownout's own: Toxiproxy's JSON for the proxy is unchanged.
    assert set(api.call("GET", "/proxies/db").json()) == {"name", "listen", "upstream", "enabled", "toxics"}


def test_traffic_and_metrics_follow_the_token_rules(spawner: Spawner, echo_port: int) -> None:
    server = spawner.proxy("-proxy-metrics", token="s3cret")
    anonymous, allowed = Api(server.url), Api(server.url, token="s3cret")
    allowed.create_proxy("db", echo_port)
    for path in ("/proxies/db/traffic", "/metrics"):
        assert anonymous.call("GET", path).status_code == 401
        assert allowed.call("GET", path).status_code == 200


def test_metrics_only_with_proxy_metrics_as_toxiproxy(api: Api) -> None:
    response = api.call("GET", "/metrics")
    assert response.status_code == 404
    assert "-proxy-metrics" in response.json()["error"]


@pytest.mark.skipif(toxiproxy_binary() is None, reason="no Toxiproxy anchor binary (BROWNOUT_TOXIPROXY)")
def test_metrics_text_equals_toxiproxys_for_the_same_traffic(spawner: Spawner, echo_port: int) -> None:
    ours = Api(spawner.proxy("-proxy-metrics").url)
    theirs_port = free_port()
    binary = toxiproxy_binary()
    assert binary is not None
    process = spawner.popen([str(binary), "-host", "127.0.0.1", "-port", str(theirs_port), "-proxy-metrics"],
                            quiet=True)  # fmt: skip
    wait_listening(theirs_port, process)
    theirs = Api(f"http://127.0.0.1:{theirs_port}")
    texts = []
    for server in (ours, theirs):
        assert "toxiproxy_proxy" not in server.call("GET", "/metrics").text  # no series before any byte
        port = server.create_proxy("db", echo_port)
        for size in (5, 70_000):
            assert len(_round_trip(port, b"z" * size)) == size
        texts.append(wait_until(lambda s=server: _series(s), timeout_s=5))
    ours_text, theirs_text = (_blur_listener(text) for text in texts)  # the listen ports differ
    assert ours_text == theirs_text


def _series(api: Api) -> list[str] | None:
    lines = [line for line in api.call("GET", "/metrics").text.splitlines() if line.startswith("toxiproxy_proxy")]
    # Complete once both directions have all the bytes (5 + 70,000 each way, received and sent).
    return lines if len(lines) == 4 and all(line.endswith(" 70005") for line in lines) else None


def _blur_listener(lines: list[str]) -> list[str]:
    return [re.sub(r'listener="[^"]*"', 'listener="L"', line) for line in lines]
