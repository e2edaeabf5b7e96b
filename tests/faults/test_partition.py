"""Partitions against a real `brownout proxy` and echo backends: both ways (proxies down), one way (that
stream's data dropped, the other still flowing), a link outside the partition untouched, and a heal that
restores every edge, also when one of them cannot be healed. Then the edges read from the sample stacks."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from brownout.errors import FaultError, InputError
from brownout.faults.drivers import PartitionDriver
from brownout.faults.edges import partition_edges, stack_edges
from brownout.faults.kinds import Edge, PartitionParams
from brownout.scenario.schema import parse_scenario
from brownout.stack.spec import load_stack_spec
from tests.proxy.proxy_support import Api, Spawner

ROOT = Path(__file__).resolve().parents[2]
GREETING = "hello"
QUIET_S = 0.5  # long enough for a loopback echo that does come (it takes < 10 ms)


def _links(spawner: Spawner) -> tuple[Api, dict[str, int]]:
    """Proxies `up` (gateway->upstream) and `note` (gateway->notifier) in the partition, `other` outside it."""
    api = Api(spawner.proxy().url)
    ports = {name: api.create_proxy(name, spawner.echo_backend(GREETING)) for name in ("up", "note", "other")}
    return api, ports


ISOLATE_GATEWAY = (Edge("up", "gateway", "upstream"), Edge("note", "gateway", "notifier"))


def _exchange(port: int) -> tuple[bool, bool]:
    """(greeting came: server -> client flows, echo came: client -> server flows) on a new connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=QUIET_S) as sock:
        greeted = _received(sock, GREETING.encode())
        sock.sendall(b"ping")
        return greeted, _received(sock, b"ping")


def _received(sock: socket.socket, expected: bytes) -> bool:
    got = b""
    try:
        while len(got) < len(expected):
            chunk = sock.recv(len(expected) - len(got))
            if not chunk:
                return False
            got += chunk
    except TimeoutError:
        return False
    return got == expected


def _refused(port: int) -> bool:
    try:
        return _exchange(port) == (False, False)
    except OSError:
        return True


def _driver(api: Api, direction: str, edges: tuple[Edge, ...] = ISOLATE_GATEWAY) -> PartitionDriver:
    return PartitionDriver(api.url, PartitionParams(isolate="gateway", direction=direction, edges=edges), "cut")


def test_both_ways_cuts_every_edge_and_the_heal_restores_them_all(spawner: Spawner) -> None:
    api, ports = _links(spawner)
    driver = _driver(api, "both")
    at_inject = driver.inject()
    assert _refused(ports["up"]) and _refused(ports["note"])
    assert _exchange(ports["other"]) == (True, True)  # not on the partition's edges
    at_heal = driver.heal()
    assert _exchange(ports["up"]) == (True, True) and _exchange(ports["note"]) == (True, True)
    assert at_inject["direction"] == "both" and [e["proxy"] for e in at_inject["edges"]] == ["up", "note"]
    # The heal's entries (what the journal keeps) join each edge's state at inject with its window.
    first = at_heal["edges"][0]
    assert {"proxy": "up", "from": "gateway", "to": "upstream", "bytes_before": 0}.items() <= first.items()
    assert "connections" in first


@pytest.mark.parametrize(("direction", "flowing"), [("upstream", (True, False)), ("downstream", (False, False))])
def test_one_way_drops_one_stream_and_the_heal_restores_it(
    spawner: Spawner, direction: str, flowing: tuple[bool, bool]
) -> None:
    """Upstream cut: the server's greeting still arrives, our ping never does. Downstream cut: nothing comes
    back, not even the greeting, yet the connection is accepted (it is not refused as with `both`)."""
    api, ports = _links(spawner)
    driver = _driver(api, direction)
    driver.inject()
    for name in ("up", "note"):
        assert _exchange(ports[name]) == flowing, name
    assert _exchange(ports["other"]) == (True, True)
    driver.heal()
    for name in ("up", "note"):
        assert _exchange(ports[name]) == (True, True), name


def test_a_heal_that_fails_on_one_edge_still_heals_the_others(spawner: Spawner) -> None:
    api, ports = _links(spawner)
    driver = _driver(api, "both")
    driver.inject()
    api.call("DELETE", "/proxies/up")  # the first edge cannot be re-enabled any more...
    with pytest.raises(FaultError, match=r"1 edge\(s\) not healed.*no proxy named 'up'"):
        driver.heal()
    assert _exchange(ports["note"]) == (True, True)  # ...and the one after it was healed anyway


def test_the_sample_stacks_route_every_link_through_the_proxy() -> None:
    for stack in ("stack.toml", "stack-postgres.toml"):
        spec = load_stack_spec(ROOT / "targets" / "sample" / stack)
        for component in spec.names:
            if component != spec.proxy_component:
                assert partition_edges(PartitionParams(isolate=component), spec), (stack, component)
    postgres = load_stack_spec(ROOT / "targets" / "sample" / "stack-postgres.toml")
    assert Edge("db", "gateway", "postgres") in stack_edges(postgres)


SCENARIO = """
[load]
steps = [{users = 2, spawn_rate = 2, duration = "60s"}]
[[faults]]
kind = "partition"
at = "5s"
duration = "10s"
"""


def test_a_partition_without_a_proxied_edge_is_refused_saying_how_to_route_it() -> None:
    with pytest.raises(InputError) as refused:
        parse_scenario(SCENARIO + 'between = ["upstream", "notifier"]\n', "s.toml")
    message = str(refused.value)
    assert "s.toml: faults[0]" in message and "field 'between'" in message
    assert "no proxied edge between 'upstream' and 'notifier'" in message and "[[proxies]]" in message


def test_a_partition_overlapping_a_network_fault_on_its_proxy_is_refused() -> None:
    network = '[[faults]]\nkind = "network"\ntarget = "notifier"\ndown = true\nat = "8s"\nduration = "5s"\n'
    with pytest.raises(InputError, match="overlaps .* on proxy 'notifier'"):
        parse_scenario(SCENARIO + 'isolate = "gateway"\n' + network, "s.toml")
