"""The HTTP toxics' figures: injected share vs toxicity, bytes altered on passed requests, and the cost.

`python -m bench httptoxics`: a real `brownout proxy --seed 1` and the hashing HTTP backend of the proxy
tests (its answers carry the sha256 of the request bytes it got):
1. N requests on kept-alive connections through an http_error toxic with toxicity 0.3: the share answered
   503 against 0.3 with its 99.7 % binomial bounds (3 standard errors).
2. Keep-alive, chunked and pipelined clients through an http_error toxic that matches nothing: requests
   whose hash differs and the bytes of those requests (both should be 0).
3. Requests/s on one kept-alive connection, no toxic vs that toxic, in alternating rounds of one run.
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
from tests.proxy.http_backend import build_request, read_response

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
    bound = 3 * math.sqrt(0.3 * 0.7 / n)
    verdict = "within" if abs(hits / n - 0.3) <= bound else "OUTSIDE"
    print(
        f"http_error toxicity 0.3: {hits} of {n} answered 503 = {hits / n:.4f} ({verdict} 0.3 +/- {bound:.4f});"
        f" other statuses {n - hits - statuses.count(200)}"
    )


def untouched(port: int) -> None:
    body = bytes(range(256)) * 40
    clients = {
        "keep-alive": ([build_request("POST", f"/k/{i}", body) for i in range(200)], False),
        "chunked": ([build_request("PUT", f"/c/{i}", body, chunked=True) for i in range(200)], False),
        "pipelined": (
            [build_request("GET" if i % 2 else "POST", f"/p/{i}", b"" if i % 2 else body) for i in range(200)],
            True,
        ),
    }
    for name, (batch, pipelined) in clients.items():
        answers = _send(port, batch, pipelined)
        wrong = [
            r
            for r, a in zip(batch, answers, strict=True)
            if a[1].get("x-request-sha256") != hashlib.sha256(r).hexdigest()
        ]
        print(
            f"{name:>10}: {len(batch)} requests, {sum(map(len, batch))} bytes, hash differs on {len(wrong)}"
            f" ({sum(map(len, wrong))} bytes)"
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
    print(f"ratio (toxic / none): {toxic / plain:.2f}; load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    backend, api_port = free_port(), free_port()
    processes = [
        subprocess.Popen([sys.executable, str(BACKEND), "--port", str(backend)]),
        subprocess.Popen([*BROWNOUT, "proxy", "--port", str(api_port), "--seed", "1"]),
    ]
    try:
        wait_listening(backend, processes[0], 15.0)
        wait_listening(api_port, processes[1], 15.0)
        api = f"http://127.0.0.1:{api_port}"
        nothing = {"type": "http_error", "attributes": {"path_prefix": "/never", "status": 500}}
        share = {"type": "http_error", "toxicity": 0.3, "attributes": {"status": 503, "body": "busy"}}
        injected_share(_proxy(api, "share", backend, share))
        untouched(_proxy(api, "nomatch", backend, nothing))
        throughput(
            {
                "no toxic": _proxy(api, "plain", backend, None),
                "http_error matching none": _proxy(api, "nomatch2", backend, nothing),
            }
        )
    finally:
        for process in processes:
            stop_process(process)
