"""Each toxic, through a real `brownout proxy` process to a real echo backend, does what it says.

Timing checks are lower bounds only (a toxic cannot make data arrive early); "does not apply" is shown by
data arriving within a generous read timeout while an applying toxic would hold it far longer.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from brownout.proxy.chain import slice_bounds
from tests.proxy.proxy_support import Api, free_port

READ_TIMEOUT_S = 5.0


@contextmanager
def connect(port: int, timeout: float = READ_TIMEOUT_S) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        yield sock
    finally:
        sock.close()


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    for _ in range(100_000):  # bounded: each recv returns >= 1 byte or ends the loop
        if len(data) >= size:
            break
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_until_closed(sock: socket.socket) -> bytes:
    data = b""
    for _ in range(100_000):
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError("the connection never closed")


def round_trip_s(sock: socket.socket, payload: bytes = b"ping") -> float:
    started = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - started


def test_no_toxic_passes_data_both_ways(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    with connect(port) as sock:
        payload = bytes(range(256)) * 1000
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload


def test_latency_delays_each_direction_including_open_connections(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    with connect(port) as sock:
        round_trip_s(sock)  # connection established before the toxic: it must still be affected
        api.add_toxic("svc", "latency", latency=300)
        assert round_trip_s(sock) >= 0.27
        api.add_toxic("svc", "latency", stream="upstream", latency=200, jitter=20)
        assert round_trip_s(sock) >= 0.27 + 0.17


def test_removing_latency_releases_data_already_held(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=60_000)
    with connect(port) as sock:
        sock.sendall(b"held")
        time.sleep(0.2)
        assert api.call("DELETE", "/proxies/svc/toxics/latency_downstream").status_code == 204
        assert recv_exactly(sock, 4) == b"held"  # well inside the read timeout, far below 60 s


def test_disabled_proxy_refuses_new_and_drops_open_connections(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    with connect(port) as sock:
        round_trip_s(sock)
        assert api.call("POST", "/proxies/svc", {"enabled": False}).json()["enabled"] is False
        try:
            dropped = sock.recv(16) == b""
        except ConnectionResetError:
            dropped = True
        assert dropped
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S).close()
    assert api.call("POST", "/proxies/svc", {"enabled": True}).json()["enabled"] is True
    with connect(port) as sock:
        round_trip_s(sock)


def test_timeout_zero_black_holes_until_removed(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "timeout", timeout=0)
    with connect(port, timeout=1.0) as sock:
        sock.sendall(b"anyone there?")
        with pytest.raises(TimeoutError):
            sock.recv(16)
        # Like Toxiproxy, removing the toxic closes the connections it swallowed data from.
        api.call("DELETE", "/proxies/svc/toxics/timeout_downstream")
        sock.settimeout(READ_TIMEOUT_S)
        assert sock.recv(16) == b""
    with connect(port) as sock:
        round_trip_s(sock)


def test_timeout_above_zero_closes_after_that_long_and_passes_nothing(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    with connect(port) as sock:
        round_trip_s(sock)  # open before the toxic: it must still be timed out
        started = time.monotonic()
        api.add_toxic("svc", "timeout", stream="upstream", timeout=400)
        sock.sendall(b"lost")
        assert recv_until_closed(sock) == b""
        assert time.monotonic() - started >= 0.35


def test_reset_peer_resets_the_connection(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "reset_peer", timeout=200)
    with connect(port) as sock:
        started = time.monotonic()
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            recv_until_closed(sock)
        assert time.monotonic() - started >= 0.17


def test_bandwidth_caps_throughput(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    payload = b"x" * 60_000  # 60 KB at 100 KB/s: at least ~0.6 s
    with connect(port) as sock:
        round_trip_s(sock)  # open before the toxic: it must still be throttled
        api.add_toxic("svc", "bandwidth", rate=100)  # KB/s, downstream
        started = time.monotonic()
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        assert time.monotonic() - started >= 0.5


def test_limit_data_closes_after_that_many_bytes(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "limit_data", bytes=10)
    with connect(port) as sock:
        sock.sendall(b"0123456789abcdefghij" * 5)
        assert recv_until_closed(sock) == b"0123456789"


def test_slow_close_delays_the_close(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "slow_close", delay=400)
    with connect(port) as sock:
        sock.sendall(b"bye")
        assert recv_exactly(sock, 3) == b"bye"
        started = time.monotonic()
        sock.shutdown(socket.SHUT_WR)  # the echo server closes; the proxy holds that close back
        assert recv_until_closed(sock) == b""
        assert time.monotonic() - started >= 0.35


@pytest.mark.parametrize(("toxicity", "applies"), [(0.0, False), (1.0, True)])
def test_toxicity_decides_per_connection(api: Api, echo_port: int, toxicity: float, applies: bool) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "timeout", toxicity=toxicity, timeout=0)
    for _ in range(3):
        # A black hole shows as a short read timing out; data that flows gets a generous timeout.
        with connect(port, timeout=0.3 if applies else READ_TIMEOUT_S) as sock:
            sock.sendall(b"ping")
            try:
                got_through = recv_exactly(sock, 4) == b"ping"
            except TimeoutError:
                got_through = False
            assert got_through is not applies


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_stream_selects_the_direction(api: Api, greeting_port: int, stream: str) -> None:
    port = api.create_proxy("svc", greeting_port)
    api.add_toxic("svc", "timeout", stream=stream, timeout=0)
    with connect(port) as sock:
        if stream == "upstream":
            assert recv_exactly(sock, 6) == b"hello\n"  # server -> client still flows
            sock.sendall(b"echo me")
            sock.settimeout(1.0)
            with pytest.raises(TimeoutError):
                sock.recv(16)  # client -> server is black-holed
        else:
            sock.settimeout(1.0)
            with pytest.raises(TimeoutError):
                sock.recv(16)  # the greeting never arrives


def test_upstream_limit_data_cuts_what_the_server_receives(api: Api) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:  # the server's side, to see what it receives
        server.settimeout(READ_TIMEOUT_S)
        port = api.create_proxy("svc", server.getsockname()[1])
        api.add_toxic("svc", "limit_data", stream="upstream", bytes=4)
        with connect(port) as sock:
            sock.sendall(b"abcdefgh")
            upstream, _ = server.accept()
            with upstream:
                upstream.settimeout(READ_TIMEOUT_S)
                assert recv_until_closed(upstream) == b"abcd"  # exactly the limit, then the proxy closes


def test_unreachable_upstream_closes_the_client_connection(api: Api) -> None:
    port = api.create_proxy("svc", free_port())  # nothing listens there
    with connect(port) as sock, suppress(ConnectionResetError):
        assert sock.recv(16) == b""


# --- the latency pipeline: each chunk is held from its own arrival, not after the chunk before it ---------


def test_latency_pipelines_a_large_answer(api: Api, echo_port: int) -> None:
    """1 MiB through latency=300 takes about 0.3 s, as in Toxiproxy. A pump that holds each 64 KiB read
    for the latency before reading the next takes at least 16 x 0.3 = 4.8 s."""
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=300)
    payload = bytes(range(256)) * 4096  # 1 MiB
    with connect(port, timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        elapsed = time.monotonic() - started
    assert 0.27 <= elapsed < 2.5, elapsed


def test_latency_keeps_the_spacing_of_what_was_sent(api: Api, echo_port: int) -> None:
    """Five pings 200 ms apart through latency=1000 arrive 200 ms apart, each about 1 s after it was sent.
    A queue of sleeps reads pings 2-5 together after the first one's second, and sends them together."""
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=1000)
    sent: list[float] = []
    arrived: list[float] = []
    with connect(port, timeout=10) as sock:

        def reader() -> None:
            for _ in range(5):
                assert recv_exactly(sock, 5) == b"ping\n"
                arrived.append(time.monotonic())

        thread = threading.Thread(target=reader)
        thread.start()
        for _ in range(5):
            sent.append(time.monotonic())
            sock.sendall(b"ping\n")
            time.sleep(0.2)
        thread.join(timeout=15)
    assert len(arrived) == 5
    assert all(a - s >= 0.95 for s, a in zip(sent, arrived, strict=True))
    # Structural: pings 2..5 are released one by one as their own seconds end, not in one burst.
    assert arrived[4] - arrived[1] >= 0.3, [round(a - sent[0], 3) for a in arrived]


def test_two_latencies_add_up_per_chunk(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=200)
    api.call("POST", "/proxies/svc/toxics", {"name": "more", "type": "latency", "attributes": {"latency": 300}})
    with connect(port) as sock:
        assert round_trip_s(sock) >= 0.47


def test_latency_on_a_connection_whose_toxic_arrives_mid_stream(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    with connect(port) as sock:
        assert round_trip_s(sock) < READ_TIMEOUT_S
        api.add_toxic("svc", "latency", stream="upstream", latency=300)
        assert round_trip_s(sock) >= 0.27
        api.call("DELETE", "/proxies/svc/toxics/latency_upstream")
        for _ in range(3):  # back to direct sends: still in order, nothing lost
            payload = bytes(range(256)) * 64
            sock.sendall(payload)
            assert recv_exactly(sock, len(payload)) == payload


# --- slicer ----------------------------------------------------------------------------------------------


def test_slicer_delivers_everything_in_pieces_spaced_by_its_delay(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "slicer", average_size=100, size_variation=0, delay=60_000)  # delay in us
    payload = bytes(range(250)) * 2  # 500 bytes: 5 pieces about 100 bytes, 60 ms apart
    with connect(port) as sock:
        started = time.monotonic()
        sock.sendall(payload)
        received = b""
        reads = 0
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            assert chunk, "closed early"
            received += chunk
            reads += 1
        elapsed = time.monotonic() - started
    assert received == payload
    assert reads >= 2  # pieces 60 ms apart do not arrive as one read
    assert elapsed >= 0.2


@pytest.mark.parametrize(("size", "average", "variation"), [(1000, 100, 0), (65536, 50, 20), (7, 3, 10), (1, 1, 0)])
def test_slice_bounds_cover_the_chunk_in_order(size: int, average: int, variation: int) -> None:
    bounds = slice_bounds(size, average, variation, random.Random(7))
    assert bounds[0][0] == 0 and bounds[-1][1] == size
    assert all(low < high for low, high in bounds)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    if variation < average:
        assert all(high - low <= average + variation for low, high in bounds)


# --- bandwidth keeps its rate --------------------------------------------------------------------------


def test_bandwidth_rate_is_kept_not_exceeded(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "bandwidth", rate=200)  # 200 KB/s
    payload = b"y" * 300_000  # 1.5 s at 200 KB/s
    with connect(port, timeout=20) as sock:
        started = time.monotonic()
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        elapsed = time.monotonic() - started
    assert 1.35 <= elapsed < 4.0, elapsed


def test_a_half_close_is_passed_on_and_the_answer_still_arrives(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    for toxic in (None, "latency"):  # both the direct path and the toxics' writer
        if toxic:
            api.add_toxic("svc", toxic, latency=50)
        with connect(port) as sock:
            sock.sendall(b"request")
            sock.shutdown(socket.SHUT_WR)
            assert recv_until_closed(sock) == b"request"
