"""The HTTP toxics' figures: injected share vs toxicity, bytes altered on passed requests, and the cost.

`python -m bench httptoxics`: a real `brownout proxy --seed 1` and the hashing HTTP backend of the proxy
tests (its answers carry the sha256 of the request bytes it got):
1. N requests on kept-alive connections through an http_error toxic with toxicity 0.3: the share answered
   503 against 0.3 with its 99.7 % binomial bounds (3 standard errors).
2. Keep-alive, chunked and pipelined clients through an http_error toxic that matches nothing: requests
   whose hash differs and the bytes of those requests (both should be 0), and the bytes the client received
   through the proxy compared with the same requests sent to the backend directly (bytes altered: 0). The
   chunked client sends chunked bodies and gets chunked answers.
3. Requests/s on one kept-alive connection, no toxic vs that toxic, in alternating rounds of one run: the
   ratio of the medians, the ratio of each back-to-back pair of rounds (median and quartiles), and the
   added cost per request in microseconds (`BROWNOUT_BENCH_ROUNDS`, default 5).
The machine's `uptime` (load averages) is printed before and after.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

from brownout.net.ports import free_port
from tests.helpers import BROWNOUT, stop_process, wait_listening
from tests.proxy.http_backend import Recording, build_request, read_response

BACKEND = Path(__file__).resolve().parents[1] / "tests" / "proxy" / "http_backend.py"
N_SHARE = int(os.environ.get("BROWNOUT_BENCH_HTTP_N", "2000"))
ROUNDS = int(os.environ.get("BROWNOUT_BENCH_ROUNDS", "5"))


def _proxy(api: str, name: str, backend: int, toxic: dict[str, object] | None) -> int:
    body = {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{backend}"}
    listen = requests.post(f"{api}/proxies", json=body, timeout=10).json()["listen"]
    if toxic:
        requests.post(f"{api}/proxies/{name}/toxics", json=toxic, timeout=10).raise_for_status()
    return int(listen.rsplit(":", 1)[1])


def _send(port: int, batch: list[bytes], pipelined: bool) -> list[tuple[int, dict[str, str], bytes]]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, sock.makefile("rb") as stream:
        if pipelined:
            sock.sendall(b"".join(batch))
            return [read_response(stream, r.split(b" ", 1)[0].decode()) for r in batch]
        answers = []
        for request in batch:
            sock.sendall(request)
            answers.append(read_response(stream, request.split(b" ", 1)[0].decode()))
        return answers


def injected_share(port: int) -> None:
    batch = [build_request("GET", f"/share/{i}") for i in range(100)]
    statuses = [a[0] for _ in range(N_SHARE // 100) for a in _send(port, batch, pipelined=False)]
    n, hits = len(statuses), statuses.count(503)
    error = math.sqrt(0.3 * 0.7 / n)
    verdict = "within" if abs(hits / n - 0.3) <= 3 * error else "OUTSIDE"
    print(
        f"http_error toxicity 0.3: {hits} of {n} answered 503 = {hits / n:.4f} ({verdict} 0.3 +/- {3 * error:.4f},"
        f" 3 standard errors; z = {(hits / n - 0.3) / error:+.2f}); other statuses {n - hits - statuses.count(200)}"
    )


def _raw(port: int, batch: list[bytes], pipelined: bool) -> list[bytes]:
    """Each answer's raw bytes as the client received them."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, sock.makefile("rb") as stream:
        recording, answers = Recording(stream), []
        if pipelined:
            sock.sendall(b"".join(batch))
        for request in batch:
            if not pipelined:
                sock.sendall(request)
            read_response(recording, request.split(b" ", 1)[0].decode())
            answers.append(recording.take())
        return answers


def _altered(got: bytes, expected: bytes) -> int:
    return sum(a != b for a, b in zip(got, expected, strict=False)) + abs(len(got) - len(expected))


def _clients() -> dict[str, tuple[list[bytes], bool]]:
    body = bytes(range(256)) * 40
    return {
        "keep-alive": ([build_request("POST", f"/k/{i}", body) for i in range(200)], False),
        "chunked": ([build_request("PUT", f"/c/{i}?chunked=1", body, chunked=True) for i in range(200)], False),
        "pipelined": (
            [build_request("GET" if i % 2 else "POST", f"/p/{i}", b"" if i % 2 else body) for i in range(200)],
            True,
        ),
    }


def untouched(port: int, backend: int) -> None:
    for name, (batch, pipelined) in _clients().items():
        answers = _send(port, batch, pipelined)
        wrong = [
            r
            for r, a in zip(batch, answers, strict=True)
            if a[1].get("x-request-sha256") != hashlib.sha256(r).hexdigest()
        ]
        proxied, direct = _raw(port, batch, pipelined), _raw(backend, batch, pipelined)
        altered = sum(_altered(p, d) for p, d in zip(proxied, direct, strict=True))
        same = hashlib.sha256(b"".join(proxied)).digest() == hashlib.sha256(b"".join(direct)).digest()
        print(
            f"{name:>10}: {len(batch)} requests, {sum(map(len, batch))} bytes, hash differs on {len(wrong)}"
            f" ({sum(map(len, wrong))} bytes); answers {sum(map(len, proxied))} bytes, {altered} bytes altered"
            f" vs direct (sha256 {'equal' if same else 'DIFFERENT'})"
        )


def throughput(ports: dict[str, int]) -> None:
    batch = [build_request("GET", "/t")] * 2000
    rates: dict[str, list[float]] = {name: [] for name in ports}
    for _ in range(ROUNDS):
        for name, port in ports.items():
            started = time.perf_counter()
            _send(port, batch, pipelined=False)
            rates[name].append(len(batch) / (time.perf_counter() - started))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, values in rates.items():
        print(
            f"{name:>22}: median {medians[name]:.0f} req/s over {ROUNDS} rounds of {len(batch)} "
            f"(rounds {', '.join(f'{v:.0f}' for v in values)})"
        )
    plain, toxic = medians.values()
    # Rounds alternate, so round i of each side ran back to back: their ratio and cost pair up.
    ratios = sorted(t / p for p, t in zip(*rates.values(), strict=True))
    costs = sorted(1e6 * (1 / t - 1 / p) for p, t in zip(*rates.values(), strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    print(
        f"ratio (toxic / none): {toxic / plain:.2f} of the medians;"
        f" paired rounds median {statistics.median(ratios):.2f} (quartiles {quartiles[0]:.2f} .. {quartiles[2]:.2f});"
        f" cost per request median"
        f" {statistics.median(costs):.0f} us"
    )


def _uptime(when: str) -> None:
    try:
        line = subprocess.run(["uptime"], capture_output=True, text=True, check=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        line = "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"uptime {when}: {line}", flush=True)


def main() -> None:
    _uptime("before")
    try:
        _run()
    finally:
        _uptime("after")


def _run() -> None:
    backend, api_port = free_port(), free_port()
    processes = [
        subprocess.Popen([sys.executable, str(BACKEND), "--port", str(backend)]),
        subprocess.Popen([*BROWNOUT, "proxy", "--port", str(api_port), "--seed", "1"]),
    ]
    try:
        wait_listening(backend, processes[0], 15.0)
        wait_listening(api_port, processes[1], 15.0)
        api = f"http://127.0.0.1:{api_port}"
        nothing: dict[str, object] = {"type": "http_error", "attributes": {"path_prefix": "/never", "status": 500}}
        share = {"type": "http_error", "toxicity": 0.3, "attributes": {"status": 503, "body": "busy"}}
        injected_share(_proxy(api, "share", backend, share))
        untouched(_proxy(api, "nomatch", backend, nothing), backend)
        throughput(
            {
                "no toxic": _proxy(api, "plain", backend, None),
                "http_error matching none": _proxy(api, "nomatch2", backend, nothing),
            }
        )
    finally:
        for process in processes:
            stop_process(process)
