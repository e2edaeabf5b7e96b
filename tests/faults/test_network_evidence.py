"""The network driver's evidence against real proxies: brownout proxy (its traffic route), the real
Toxiproxy 2.8.0 with -proxy-metrics (bytes from /metrics) and without (unknown, saying why)."""

from __future__ import annotations

import socket

import pytest

from brownout.faults.drivers import ToxiproxyDriver
from brownout.faults.kinds import NetworkParams
from brownout.net.ports import free_port
from tests.helpers import toxiproxy_binary, wait_listening
from tests.proxy.proxy_support import Api, Spawner

needs_toxiproxy = pytest.mark.skipif(toxiproxy_binary() is None, reason="no Toxiproxy anchor binary")


def _toxiproxy(spawner: Spawner, *flags: str) -> str:
    port = free_port()
    process = spawner.popen([str(toxiproxy_binary()), "-host", "127.0.0.1", "-port", str(port), *flags], quiet=True)
    wait_listening(port, process)
    return f"http://127.0.0.1:{port}"


def _echo_once(port: int, payload: bytes = b"ping") -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        assert sock.recv(100) == payload


def _window(api_url: str, params: NetworkParams, during: int | None) -> tuple[dict, dict]:
    """Inject, send one exchange through the proxy on port `during` (if any), heal: both evidences."""
    driver = ToxiproxyDriver(api_url, params, "db-fault")
    at_inject = driver.inject()
    if during is not None:
        _echo_once(during)
    at_heal = driver.heal()
    assert at_heal is not None
    return at_inject, at_heal


def test_brownout_proxy_gives_connections_bytes_and_the_idle_time(spawner: Spawner) -> None:
    api = Api(spawner.proxy().url)
    port = api.create_proxy("db", spawner.echo_backend())
    latency = NetworkParams(proxy="db", toxic="latency", attributes=(("latency", 1),))
    at_inject, at_heal = _window(api.url, latency, during=port)
    assert at_inject == {"proxy": "db", "source": "traffic", "idle_before_s": None, "bytes_before": 0}
    assert at_heal == {"connections": 1, "bytes_upstream": 4, "bytes_downstream": 4}
    # A `down` window carries nothing by design: the traffic just before it is its evidence.
    _echo_once(port)
    at_inject, at_heal = _window(api.url, NetworkParams(proxy="db", down=True), during=None)
    assert at_inject["idle_before_s"] < 5 and at_inject["bytes_before"] == 16
    assert at_heal == {"connections": 0, "bytes_upstream": 0, "bytes_downstream": 0}


@needs_toxiproxy
def test_toxiproxy_with_proxy_metrics_gives_bytes_without_connections(spawner: Spawner) -> None:
    api = Api(_toxiproxy(spawner, "-proxy-metrics"))
    port = api.create_proxy("db", spawner.echo_backend())
    latency = NetworkParams(proxy="db", toxic="latency", attributes=(("latency", 1),))
    at_inject, at_heal = _window(api.url, latency, during=port)
    assert at_inject == {"proxy": "db", "source": "metrics", "idle_before_s": None, "bytes_before": 0}
    assert at_heal == {"connections": None, "bytes_upstream": 4, "bytes_downstream": 4}


@needs_toxiproxy
def test_toxiproxy_without_metrics_is_unknown_saying_why(spawner: Spawner) -> None:
    api = Api(_toxiproxy(spawner))
    port = api.create_proxy("db", spawner.echo_backend())
    at_inject, at_heal = _window(api.url, NetworkParams(proxy="db", down=True), during=None)
    reason = (
        f"the fault proxy at {api.url} counts no traffic (GET /proxies/db/traffic answered 404, /metrics 404): "
        f"use brownout proxy, or start Toxiproxy with -proxy-metrics"
    )
    assert at_inject == {"proxy": "db", "unknown": reason}
    assert at_heal == {"unknown": reason}
    _echo_once(port)  # healed: the proxy is up again
