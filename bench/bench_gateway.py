"""The sample gateway's serving overhead and memory, measured side by side in one run.

1. Throughput of the gateway's cheapest read endpoint (`GET /healthz`) against a bare gevent WSGI app that
   answers the same bytes from the same server class (TCP_NODELAY included), with the same keep-alive client:
   the ratio says what Flask, the error handlers and the request metrics cost. Aim: >= 0.5.
2. The gateway's p50 latency at low load (one connection, sequential requests). Aim: < 2 ms.
3. The gateway's resident memory after 50,000 requests against after 1,000 (a leak check; half the requests
   read a thread from SQLite). Aim: growth <= 10 %.

Run: `python -m bench gateway` (or `make bench`). Bounded: about 30 to 60 s.
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

from bench.support import start_process, stop_process
from brownout.net.ports import free_port

CONNECTIONS = 4
ROUND_S = 1.5
ROUNDS = 3
LATENCY_REQUESTS = 2000
MEMORY_BASELINE = 1_000
MEMORY_TOTAL = 50_000


class KeepAliveClient:
    """A minimal HTTP/1.1 client on one persistent connection: small and identical for both servers."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def get(self, path: str) -> bytes:
        self._sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        while b"\r\n\r\n" not in self._buffer:
            self._receive()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"GET {path}: {head.splitlines()[0]!r}")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            self._receive()
            rest = self._buffer.partition(b"\r\n\r\n")[2]
        self._buffer = rest[length:]
        return rest[:length]

    def _receive(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        self._sock.close()


def _throughput(port: int, path: str, seconds: float) -> tuple[float, int]:
    """Requests per second over CONNECTIONS keep-alive connections for `seconds`, and how many were sent."""
    counts = [0] * CONNECTIONS
    deadline = time.perf_counter() + seconds

    def _drive(index: int) -> None:
        client = KeepAliveClient(port)
        try:
            while time.perf_counter() < deadline:
                client.get(path)
                counts[index] += 1
        finally:
            client.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=_drive, args=(i,)) for i in range(CONNECTIONS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 30)
    return sum(counts) / (time.perf_counter() - started), sum(counts)


def _latencies_ms(port: int, path: str, count: int) -> list[float]:
    client = KeepAliveClient(port)
    try:
        for _ in range(100):  # warm the connection and the code paths
            client.get(path)
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        return samples
    finally:
        client.close()


def _send(port: int, paths: list[str], count: int) -> None:
    client = KeepAliveClient(port)
    try:
        for i in range(count):
            client.get(paths[i % len(paths)])
    finally:
        client.close()


def _rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


# The reference server, run as `python -c`: gevent patched first, the gateway's server class, no framework.
_BARE_SERVER = """
from gevent import monkey
monkey.patch_all()
import sys
from targets.sample.serving import serve
body = sys.argv[2].encode()
headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
def app(environ, start_response):
    start_response("200 OK", headers)
    return [body]
serve(app, int(sys.argv[1]), "bare")
"""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        workdir = Path(tmp)
        gateway_port, bare_port = free_port(), free_port()
        nowhere = f"http://127.0.0.1:{free_port()}"  # /healthz needs neither dependency
        gateway_argv = [sys.executable, "-m", "targets.sample.gateway", "--port", str(gateway_port)]
        gateway_argv += ["--data-dir", str(workdir / "data"), "--log-level", "WARNING"]
        gateway_argv += ["--upstream-url", nowhere, "--notifier-url", nowhere]
        gateway = start_process(
            gateway_argv,
            f"http://127.0.0.1:{gateway_port}/readyz",
            workdir / "gateway.log",
        )
        bare = None
        try:
            body = requests.get(f"http://127.0.0.1:{gateway_port}/healthz", timeout=5).content
            bare = start_process(
                [sys.executable, "-c", _BARE_SERVER, str(bare_port), body.decode()],
                f"http://127.0.0.1:{bare_port}/healthz",
                workdir / "bare.log",
            )
            _run(gateway_port, bare_port, gateway.pid)
        finally:
            if bare is not None:
                stop_process(bare)
            stop_process(gateway)


def _run(gateway_port: int, bare_port: int, gateway_pid: int) -> None:
    thread_id = requests.post(f"http://127.0.0.1:{gateway_port}/threads", timeout=5).json()["thread_id"]
    mixed = ["/healthz", f"/threads/{thread_id}"]
    _send(gateway_port, mixed, MEMORY_BASELINE)
    rss_baseline = _rss_mib(gateway_pid)
    sent = MEMORY_BASELINE

    bare_rates, gateway_rates = [], []
    for _ in range(ROUNDS):  # paired back to back, so drift in the machine's load hits both alike
        bare_rates.append(_throughput(bare_port, "/healthz", ROUND_S)[0])
        rate, count = _throughput(gateway_port, "/healthz", ROUND_S)
        gateway_rates.append(rate)
        sent += count
    ratios = [g / b for g, b in zip(gateway_rates, bare_rates, strict=True)]
    print(f"GET /healthz, {CONNECTIONS} keep-alive connections, {ROUNDS} paired rounds of {ROUND_S} s:")
    print(f"  bare gevent WSGI app   {statistics.median(bare_rates):8.0f} req/s (median)")
    print(f"  gateway (Flask)        {statistics.median(gateway_rates):8.0f} req/s (median)")
    rounds = " ".join(f"{r:.2f}" for r in ratios)
    print(f"  throughput ratio       {statistics.median(ratios):8.2f}   (median of {rounds}; aim >= 0.5)")

    samples = _latencies_ms(gateway_port, "/healthz", LATENCY_REQUESTS)
    bare_samples = _latencies_ms(bare_port, "/healthz", LATENCY_REQUESTS)
    sent += LATENCY_REQUESTS + 100
    p50 = statistics.median(samples)
    p99 = statistics.quantiles(samples, n=100)[98]
    print(f"gateway latency, 1 connection, {LATENCY_REQUESTS} sequential requests:")
    bare_p50 = statistics.median(bare_samples)
    print(f"  p50 {p50:.2f} ms, p99 {p99:.2f} ms (bare app: p50 {bare_p50:.2f} ms)   (aim p50 < 2 ms)")

    remaining = max(0, MEMORY_TOTAL - sent)
    _send(gateway_port, mixed, remaining)
    rss_after = _rss_mib(gateway_pid)
    growth = (rss_after - rss_baseline) / rss_baseline * 100
    print(f"gateway resident memory: {rss_baseline:.1f} MiB after {MEMORY_BASELINE:,} requests,")
    print(f"  {rss_after:.1f} MiB after {sent + remaining:,}: {growth:+.1f} %  (aim <= +10 %)")


if __name__ == "__main__":
    main()
