"""brownout's own toxics through a real `brownout proxy` to a real HTTP backend (http_backend.py).

The backend answers each request with the sha256 of the bytes it received, so "passed untouched" is a
hash comparison; ordering under pipelining is checked with a slow first request.
"""

from __future__ import annotations

import hashlib
import math
import random
import socket
import sys
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from brownout.net.ports import free_port
from brownout.proxy.distributions import latency_seconds
from brownout.proxy.toxics import ToxicSpec
from tests.helpers import wait_listening
from tests.proxy.http_backend import Recording, build_request, read_response
from tests.proxy.proxy_support import Api, Spawner

FAIL = build_request("POST", "/fail/now", b"swallowed")

BACKEND = Path(__file__).with_name("http_backend.py")


@pytest.fixture(scope="module")
def backend_port(module_spawner: Spawner) -> int:
    port = free_port()
    process = module_spawner.popen([sys.executable, str(BACKEND), "--port", str(port)])
    wait_listening(port, process, 15.0)
    return port


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add(api: Api, type_: str, toxicity: float = 1.0, **attributes: object) -> None:
    body = {"type": type_, "stream": "upstream", "toxicity": toxicity, "attributes": attributes}
    response = api.call("POST", "/proxies/web/toxics", body)
    assert response.status_code == 200, response.text


def exchange(port: int, requests: list[bytes], pipelined: bool = False) -> list[tuple[int, dict[str, str], bytes]]:
    """Send `requests` on one kept-alive connection (all at once if pipelined) and read every answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, sock.makefile("rb") as stream:
        if pipelined:
            sock.sendall(b"".join(requests))
            return [read_response(stream, _method(r)) for r in requests]
        answers = []
        for request in requests:
            for offset in range(0, len(request), 7):  # dribbled: heads and bodies cut anywhere
                sock.sendall(request[offset : offset + 7])
            answers.append(read_response(stream, _method(request)))
        return answers


def _method(request: bytes) -> str:
    return request.split(b" ", 1)[0].decode()


def _mixed_requests() -> list[bytes]:
    body = bytes(random.Random(7).getrandbits(8) for _ in range(3000))
    return [
        build_request("GET", "/a?q=1"),
        build_request("POST", "/b", body),
        build_request("PUT", "/c", body, chunked=True),
        build_request("HEAD", "/d"),
        build_request("POST", "/e", b""),
    ]


@pytest.mark.parametrize("pipelined", [False, True])
def test_requests_that_match_nothing_pass_byte_for_byte(api: Api, backend_port: int, pipelined: bool) -> None:
    port = api.create_proxy("web", backend_port)
    add(api, "http_error", path_prefix="/nothing-here", status=500)
    add(api, "http_latency", method="DELETE", latency=5000)
    requests = _mixed_requests()
    answers = exchange(port, requests, pipelined)
    assert [a[0] for a in answers] == [200] * len(requests)
    assert [a[1]["x-request-sha256"] for a in answers] == [sha(r) for r in requests]


def raw_answers(port: int, requests: list[bytes], pipelined: bool) -> list[bytes]:
    """Each answer's raw bytes exactly as the client received them, on one kept-alive connection (dribbled in
    5-byte segments unless pipelined)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, sock.makefile("rb") as stream:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each write its own segment
        recording = Recording(stream)
        if pipelined:
            sock.sendall(b"".join(requests))
        answers = []
        for request in requests:
            for offset in range(0, 0 if pipelined else len(request), 5):
                sock.sendall(request[offset : offset + 5])
            read_response(recording, _method(request))
            answers.append(recording.take())
        return answers


def _client_requests(client: str) -> list[bytes]:
    """Requests of one kind of client, an injected-error request after every second one."""
    body = bytes(random.Random(11).getrandbits(8) for _ in range(5000))
    kinds = {
        "keep-alive": [
            build_request("GET", "/k?x=1"),
            build_request("POST", "/k", body),
            build_request("HEAD", "/k"),
            build_request("GET", "/k?size=70000"),
        ],
        "chunked": [
            build_request("PUT", "/c?chunked=1", body, chunked=True),
            build_request("POST", "/c?chunked=1", b"", chunked=True),
            build_request("HEAD", "/c?chunked=1"),
            build_request("GET", "/c?chunked=1&size=70000"),
        ],
    }
    kinds["pipelined"] = kinds["keep-alive"] + kinds["chunked"]
    return [r for i, request in enumerate(kinds[client]) for r in ([request, FAIL] if i % 2 else [request])]


@pytest.mark.parametrize("client", ["keep-alive", "chunked", "pipelined"])
def test_passed_answers_are_byte_for_byte_what_the_backend_sends_directly(
    api: Api, backend_port: int, client: str
) -> None:
    port = api.create_proxy("web", backend_port)
    add(api, "http_latency", method="DELETE", latency=5000)  # matches nothing
    add(api, "http_error", path_prefix="/fail", status=503, body="busy", headers={"Retry-After": "2"})
    add(api, "http_drop", path_prefix="/never", bytes=10)  # matches nothing
    requests = _client_requests(client)
    pipelined = client == "pipelined"
    proxied = raw_answers(port, requests, pipelined)
    direct = raw_answers(backend_port, [r for r in requests if r != FAIL], pipelined)
    passed = [answer for request, answer in zip(requests, proxied, strict=True) if request != FAIL]
    assert [sha(a) for a in passed] == [sha(a) for a in direct]
    assert sha(b"".join(passed)) == sha(b"".join(direct)) and sum(map(len, direct)) > 70_000
    injected = [answer for request, answer in zip(requests, proxied, strict=True) if request == FAIL]
    assert len(injected) == requests.count(FAIL) >= 2
    assert all(a.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 2" in a and a.endswith(b"busy") for a in injected)


def test_the_injected_share_is_the_toxicity_and_seeded_rolls_repeat(spawner: Spawner, backend_port: int) -> None:
    toxicity, n = 0.3, 1000
    runs = []
    for _ in range(2):
        api = Api(spawner.proxy("--seed", "5").url)
        port = api.create_proxy("web", backend_port)
        add(api, "http_error", toxicity=toxicity, status=503, body="rolled")
        batches = [[build_request("GET", f"/roll/{b}/{i}") for i in range(100)] for b in range(n // 100)]
        answers = [(r, a) for batch in batches for r, a in zip(batch, exchange(port, batch, True), strict=True)]
        assert all(a[1]["x-request-sha256"] == sha(r) for r, a in answers if a[0] == 200)
        runs.append([a[0] for _, a in answers])
    assert runs[0] == runs[1]  # the same --seed, the same requests: the same rolls
    hits = runs[0].count(503)
    assert set(runs[0]) == {200, 503}
    assert abs(hits / n - toxicity) <= 5 * math.sqrt(toxicity * (1 - toxicity) / n), hits  # binomial, 5 sigma


def test_an_injected_answer_waits_for_the_earlier_responses(api: Api, backend_port: int) -> None:
    port = api.create_proxy("web", backend_port)
    add(api, "http_error", path_prefix="/fail", status=503, body="busy", headers={"Retry-After": "2"})
    requests = [
        build_request("GET", "/slow?delay=0.4"),
        build_request("POST", "/fail/x", b"swallowed", chunked=True),
        build_request("GET", "/after"),
    ]
    started = time.monotonic()
    answers = exchange(port, requests, pipelined=True)
    assert [a[0] for a in answers] == [200, 503, 200]
    assert answers[0][1]["x-request-sha256"] == sha(requests[0])
    assert answers[1][1]["retry-after"] == "2" and answers[1][2] == b"busy"
    assert answers[2][1]["x-request-sha256"] == sha(requests[2])  # the swallowed body did not leak into it
    assert time.monotonic() - started >= 0.4


def test_first_and_every_count_matching_requests(api: Api, backend_port: int) -> None:
    port = api.create_proxy("web", backend_port)
    add(api, "http_error", method="POST", first=2, status=500)
    statuses = [a[0] for a in exchange(port, [build_request("POST", "/p", b"x")] * 4)]
    assert statuses == [500, 500, 200, 200]
    api.clear()
    port = api.create_proxy("web", backend_port)
    add(api, "http_error", header="X-Tenant: acme", every=3, status=429)
    tenant = [build_request("GET", "/t", headers="X-Tenant: acme\r\n")] * 6
    other = [build_request("GET", "/t", headers="X-Tenant: other\r\n")] * 3
    assert [a[0] for a in exchange(port, tenant + other)] == [200, 200, 429, 200, 200, 429] + [200] * 3


def test_http_latency_is_added_once_per_matching_request(api: Api, backend_port: int) -> None:
    port = api.create_proxy("web", backend_port)
    add(api, "http_latency", path_prefix="/slow", latency=300)
    started = time.monotonic()
    exchange(port, [build_request("GET", "/fast")])
    fast = time.monotonic() - started
    started = time.monotonic()
    # one request dribbled in 7-byte chunks: per chunk it would be hundreds of times 300 ms
    exchange(port, [build_request("POST", "/slow", b"y" * 200)])
    slow = time.monotonic() - started
    assert fast < 0.25 and 0.3 <= slow < 1.5


def test_http_drop_cuts_the_response_short(api: Api, backend_port: int) -> None:
    port = api.create_proxy("web", backend_port)
    add(api, "http_drop", path_prefix="/big", bytes=1000)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(build_request("GET", "/big?size=100000"))
        received = _until_closed(sock.makefile("rb"))
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Content-Length: 100000" in head and len(body) == 1000


def _until_closed(stream: BinaryIO) -> bytes:
    return stream.read()


def test_stall_holds_a_chunk_for_the_delay(api: Api, backend_port: int) -> None:
    port = api.create_proxy("web", backend_port)
    response = api.call(
        "POST", "/proxies/web/toxics", {"type": "stall", "attributes": {"probability": 1, "delay": 300}}
    )
    assert response.status_code == 200, response.text
    started = time.monotonic()
    assert exchange(port, [build_request("GET", "/s")])[0][0] == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("attributes", "error"),
    [
        ({"distribution": "weibull"}, "distribution"),
        ({"distribution": "pareto", "p50": 100}, "p99"),
        ({"p50": 200, "p99": 100}, "p99"),
    ],
)
def test_bad_latency_distributions_are_refused(
    api: Api, backend_port: int, attributes: dict[str, object], error: str
) -> None:
    api.create_proxy("web", backend_port)
    response = api.call("POST", "/proxies/web/toxics", {"type": "latency", "attributes": attributes})
    assert response.status_code == 400 and error in response.json()["error"]


def test_http_toxics_are_upstream_and_plain_latency_shows_toxiproxys_json(api: Api, backend_port: int) -> None:
    api.create_proxy("web", backend_port)
    created = api.call("POST", "/proxies/web/toxics", {"type": "http_error"}).json()
    assert created["stream"] == "upstream" and created["attributes"]["status"] == 503
    refused = api.call("POST", "/proxies/web/toxics", {"type": "http_drop", "stream": "downstream"})
    assert refused.status_code == 400
    latency = api.add_toxic("web", "latency", latency=10)
    assert latency["attributes"] == {"latency": 10, "jitter": 0}


@pytest.mark.parametrize("distribution", ["normal", "lognormal", "pareto"])
def test_latency_distributions_hit_their_percentiles(distribution: str) -> None:
    toxic = ToxicSpec("l", "latency", attributes={"distribution": distribution, "p50": 100, "p99": 900})
    rng = random.Random(3)
    draws = sorted(latency_seconds(toxic, rng) for _ in range(20000))
    assert draws[10000] == pytest.approx(0.1, rel=0.05)
    assert draws[19800] == pytest.approx(0.9, rel=0.1)
