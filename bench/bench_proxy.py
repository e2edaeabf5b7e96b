"""The fault proxy's cost: keep-alive HTTP through `brownout proxy` (no toxics) vs straight to the backend.

Same backend (Flask on gevent's WSGI server, like the sample target), same client, side by side in one run:
latency blocks and throughput windows alternate between direct and proxied so machine noise hits both.
Prints the added p50 latency (aim <= 0.3 ms) and the throughput ratio (aim >= 0.8). Bounded: ~35 s.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from brownout.ports import free_ports
from tests.helpers import BROWNOUT, stop_process, wait_listening

ROOT = Path(__file__).resolve().parents[1]
LATENCY_BLOCKS = 10
LATENCY_BLOCK_REQUESTS = 300
THROUGHPUT_PAIRS = 4
THROUGHPUT_WINDOW_S = 1.5
# (label, path, connections): a trivial route, where backend, proxy and client all fight for the CPU (the
# worst case for the proxy), and a route with 5 ms of service time, like a real dependency.
WORKLOADS = (("trivial route", "/ping", 4), ("5 ms service time", "/work", 8))
SERVICE_TIME_S = 0.005
STARTUP_S = 20.0


class KeepAliveClient:
    """One keep-alive HTTP/1.1 connection; minimal parsing so the client costs little and the same always."""

    def __init__(self, port: int, path: str = "/ping") -> None:
        self.request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def get(self) -> None:
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            self.buffer = head + b"\r\n\r\n" + rest
            self._read()
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the keep-alive connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def _timed_gets(requests: int, client: KeepAliveClient) -> list[float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _throughput(port: int, path: str, connections: int) -> float:
    counts = [0] * connections
    deadline = time.monotonic() + THROUGHPUT_WINDOW_S

    def worker(index: int) -> None:
        client = KeepAliveClient(port, path)
        try:
            while time.monotonic() < deadline:
                client.get()
                counts[index] += 1
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THROUGHPUT_WINDOW_S + 10)
    return sum(counts) / THROUGHPUT_WINDOW_S


def main() -> None:
    backend_port, api_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if k != "BROWNOUT_TOKEN"}
    processes = [
        subprocess.Popen([sys.executable, "-m", "bench.bench_proxy", "--serve-http", str(backend_port)], cwd=ROOT),
        subprocess.Popen(
            [*BROWNOUT, "proxy", "--port", str(api_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_listening(backend_port, processes[0], STARTUP_S)
        wait_listening(api_port, processes[1], STARTUP_S)
        body = {"name": "bench", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{backend_port}"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/proxies", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            proxy_port = int(json.loads(response.read())["listen"].rsplit(":", 1)[1])
        _measure(backend_port, proxy_port, psutil.Process(processes[1].pid))
    finally:
        for process in processes:
            stop_process(process)


def _measure(direct_port: int, proxy_port: int, proxy_process: psutil.Process) -> None:
    direct, proxied = KeepAliveClient(direct_port), KeepAliveClient(proxy_port)
    for client in (direct, proxied):  # warm up both paths first
        _timed_gets(200, client)
    direct_ms: list[float] = []
    proxied_ms: list[float] = []
    for _ in range(LATENCY_BLOCKS):
        direct_ms += _timed_gets(LATENCY_BLOCK_REQUESTS, direct)
        proxied_ms += _timed_gets(LATENCY_BLOCK_REQUESTS, proxied)
    direct.close()
    proxied.close()
    p50_direct, p50_proxied = statistics.median(direct_ms), statistics.median(proxied_ms)
    added = p50_proxied - p50_direct
    print("fault proxy (no toxics) vs direct: keep-alive HTTP GETs to a Flask/gevent backend on 127.0.0.1")
    print(
        f"  p50 latency, 1 connection x {len(direct_ms)} requests: direct {p50_direct:.3f} ms, "
        f"proxied {p50_proxied:.3f} ms, added {added:.3f} ms (aim <= 0.3 ms) "
        f"{'OK' if added <= 0.3 else 'MISSED'}"
    )
    for label, path, connections in WORKLOADS:
        cpu_before = sum(proxy_process.cpu_times()[:2])
        direct_rps, proxied_rps, ratio, proxied_requests = _paired_throughput(
            direct_port, proxy_port, path, connections
        )
        proxy_cpu_us = (sum(proxy_process.cpu_times()[:2]) - cpu_before) * 1e6 / max(1.0, proxied_requests)
        print(
            f"  throughput, {label}, {connections} connections, medians of {THROUGHPUT_PAIRS} paired "
            f"{THROUGHPUT_WINDOW_S} s windows: direct {direct_rps:.0f} req/s, "
            f"proxied {proxied_rps:.0f} req/s, ratio {ratio:.2f} (aim >= 0.8) "
            f"{'OK' if ratio >= 0.8 else 'MISSED'}; proxy CPU {proxy_cpu_us:.0f} us per request"
        )


def _paired_throughput(direct_port: int, proxy_port: int, path: str, connections: int) -> tuple[float, ...]:
    # The machine is shared, so its load drifts: windows come in pairs, alternating which goes first, and
    # the median of the per-pair ratios cancels most of the drift.
    pairs: list[tuple[float, float]] = []
    for index in range(THROUGHPUT_PAIRS):
        if index % 2:
            proxied_rps = _throughput(proxy_port, path, connections)
            pairs.append((_throughput(direct_port, path, connections), proxied_rps))
        else:
            direct_rps = _throughput(direct_port, path, connections)
            pairs.append((direct_rps, _throughput(proxy_port, path, connections)))
    return (
        statistics.median(d for d, _ in pairs),
        statistics.median(p for _, p in pairs),
        statistics.median(p / d for d, p in pairs if d),
        sum(p for _, p in pairs) * THROUGHPUT_WINDOW_S,
    )


def _serve_http(port: int) -> None:
    """The backend: one tiny Flask route on gevent's WSGI server with TCP_NODELAY, like the sample target."""
    import gevent
    from flask import Flask
    from gevent.pywsgi import WSGIServer

    app = Flask("bench_backend")

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    @app.get("/work")
    def work() -> str:
        gevent.sleep(SERVICE_TIME_S)
        return "done"

    class NoDelayServer(WSGIServer):
        def handle(self, sock: socket.socket, address: object) -> None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, address)

    server = NoDelayServer(("127.0.0.1", port), app, log=None)
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-http":
        _serve_http(int(sys.argv[2]))
    else:
        main()
