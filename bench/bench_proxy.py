"""The fault proxy against Toxiproxy itself: the same client through direct, `brownout proxy` and Toxiproxy.

Side by side in one run, in alternating rounds (the order rotates each round, so a noisy neighbour hits
all three), printing medians and brownout/Toxiproxy ratios per round:

- no toxics, 1 and 50 connections: throughput and added p50 over direct. The client is redis-benchmark
  (`-t ping`) against redis-server when both are installed (`apt-get install -y redis-server`), as in
  issue 10; otherwise keep-alive HTTP GETs to a Flask/gevent backend from Python threads.
- a 1 MiB answer through `latency = 100` (Toxiproxy: about 0.1 s);
- a 2 MB answer through `bandwidth = 1000` KB/s: the rate each achieves.

Toxiproxy is the anchor binary (env BROWNOUT_TOXIPROXY, else ../shared/anchors/toxiproxy-server beside the
repository or its worktree folder); without it the Toxiproxy column is skipped with a clear line and
brownout is compared with direct only. Bounded: about 2 minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from brownout.ports import free_port
from tests.helpers import stop_process, toxiproxy_binary, wait_listening

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5
REDIS_REQUESTS = {1: 5_000, 50: 20_000}
HTTP_WINDOW_S = 1.5
BLOB_BYTES = 1024 * 1024
BANDWIDTH_BYTES = 2_000_000
LATENCY_MS = 100
RATE_KBS = 1000
STARTUP_S = 20.0


@dataclass(frozen=True)
class Target:
    """One way to the backend: direct, or through a proxy server; ports for the ping and blob routes."""

    label: str
    ping_port: int
    latency_port: int | None = None
    bandwidth_port: int | None = None
    process: psutil.Process | None = None  # the proxy server, whose CPU time per request is measured

    def cpu_seconds(self) -> float:
        return sum(self.process.cpu_times()[:2]) if self.process else 0.0


# --- backends ----------------------------------------------------------------------------------------


def _serve_blob(port: int) -> None:
    """For every line a client sends, answer `size` bytes (the line is the size): the big-answer backend."""
    listener = socket.create_server(("127.0.0.1", port), backlog=64)

    def serve(client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with client, client.makefile("rb") as lines:
            for line in lines:
                client.sendall(b"x" * int(line))

    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


def _serve_http(port: int) -> None:
    """The fallback ping backend: one tiny Flask route on gevent's WSGI server with TCP_NODELAY."""
    from flask import Flask
    from gevent.pywsgi import WSGIServer

    app = Flask("bench_backend")

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    class NoDelayServer(WSGIServer):
        def handle(self, sock: socket.socket, address: object) -> None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, address)

    NoDelayServer(("127.0.0.1", port), app, log=None).serve_forever()


# --- clients -----------------------------------------------------------------------------------------


def _blob_seconds(port: int, size: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        sock.sendall(f"{size}\n".encode())
        left = size
        while left > 0:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the blob connection closed early")
            left -= len(chunk)
        return time.perf_counter() - started


def _redis_benchmark(port: int, connections: int) -> tuple[float, float, int]:
    """(requests per second, p50 ms, requests) of redis-benchmark's PING_MBULK."""
    argv = ["redis-benchmark", "-p", str(port), "-t", "ping", "-n", str(REDIS_REQUESTS[connections]),
            "-c", str(connections), "--csv"]
    output = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout
    for line in output.splitlines():
        fields = [f.strip('"') for f in line.split(",")]
        if fields[0] == "PING_MBULK":
            return float(fields[1]), float(fields[4]), REDIS_REQUESTS[connections]
    raise RuntimeError(f"no PING_MBULK line in redis-benchmark's output: {output!r}")


class _KeepAlive:
    """One keep-alive HTTP/1.1 connection; minimal parsing so the client costs little and the same always."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get(self) -> None:
        self.sock.sendall(b"GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n")
        data = b""
        while not (b"\r\n\r\n" in data and data.endswith(b"pong")):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the keep-alive connection")
            data += chunk


def _http_benchmark(port: int, connections: int) -> tuple[float, float, int]:
    """(requests per second, p50 ms, requests) of keep-alive GETs from `connections` threads for a fixed window."""
    samples: list[list[float]] = [[] for _ in range(connections)]
    deadline = time.monotonic() + HTTP_WINDOW_S

    def worker(index: int) -> None:
        client = _KeepAlive(port)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                client.get()
                samples[index].append((time.perf_counter() - started) * 1000)
        finally:
            client.sock.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=HTTP_WINDOW_S + 10)
    every = [s for per in samples for s in per]
    return len(every) / HTTP_WINDOW_S, statistics.median(every), len(every)


# --- running ------------------------------------------------------------------------------------------


def _call(api_port: int, method: str, path: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{api_port}{path}", data=json.dumps(body).encode(), method=method,
        headers={"User-Agent": "bench"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def _proxy_target(
    label: str, process: subprocess.Popen[bytes], api_port: int, ping_port: int, blob_port: int
) -> Target:
    def proxy(name: str, upstream: int) -> int:
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream}"}
        return int(str(_call(api_port, "POST", "/proxies", body)["listen"]).rsplit(":", 1)[1])

    ping = proxy("ping", ping_port)
    latency, bandwidth = proxy("latency", blob_port), proxy("bandwidth", blob_port)
    _call(api_port, "POST", "/proxies/latency/toxics", {"type": "latency", "attributes": {"latency": LATENCY_MS}})
    _call(api_port, "POST", "/proxies/bandwidth/toxics", {"type": "bandwidth", "attributes": {"rate": RATE_KBS}})
    return Target(label, ping, latency, bandwidth, psutil.Process(process.pid))


def main() -> None:
    processes: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str], port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k != "BROWNOUT_TOKEN"}
        quiet = subprocess.DEVNULL
        processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=quiet, stderr=quiet))
        wait_listening(port, processes[-1], STARTUP_S)

    use_redis = bool(shutil.which("redis-server") and shutil.which("redis-benchmark"))
    toxiproxy = toxiproxy_binary()
    try:
        ping_port, blob_port, brownout_api = free_port(), free_port(), free_port()
        if use_redis:
            start(["redis-server", "--port", str(ping_port), "--save", "", "--appendonly", "no"], ping_port)
        else:
            start([sys.executable, "-m", "bench.bench_proxy", "--serve-http", str(ping_port)], ping_port)
        start([sys.executable, "-m", "bench.bench_proxy", "--serve-blob", str(blob_port)], blob_port)
        start([sys.executable, "-m", "brownout", "proxy", "--port", str(brownout_api)], brownout_api)
        brownout = _proxy_target("brownout", processes[-1], brownout_api, ping_port, blob_port)
        targets = [Target("direct", ping_port), brownout]
        if toxiproxy is not None:
            toxiproxy_api = free_port()
            start([str(toxiproxy), "-host", "127.0.0.1", "-port", str(toxiproxy_api)], toxiproxy_api)
            targets.append(_proxy_target("toxiproxy", processes[-1], toxiproxy_api, ping_port, blob_port))
        _report(targets, use_redis, toxiproxy)
    finally:
        for process in processes:
            stop_process(process)


def _rounds(targets: list[Target], measure: Callable[[Target], float | tuple[float, ...]]) -> list[dict[str, object]]:
    """ROUNDS rounds, each target once per round, the order rotating round by round."""
    results: list[dict[str, object]] = []
    for index in range(ROUNDS):
        order = targets[index % len(targets) :] + targets[: index % len(targets)]
        results.append({target.label: measure(target) for target in order})
    return results


def _report(targets: list[Target], use_redis: bool, toxiproxy: Path | None) -> None:
    client = "redis-benchmark -t ping (PING_MBULK) to redis-server" if use_redis else "keep-alive HTTP GETs"
    print(f"fault proxy vs direct vs Toxiproxy: {client}; {ROUNDS} alternating rounds, medians")
    if toxiproxy is None:
        print("  Toxiproxy: SKIPPED (no anchor binary: set BROWNOUT_TOXIPROXY or put it in ../shared/anchors/)")
    benchmark = _redis_benchmark if use_redis else _http_benchmark

    def ping(target: Target, connections: int) -> tuple[float, float, float]:
        cpu_before = target.cpu_seconds()
        rate, p50, requests = benchmark(target.ping_port, connections)
        return rate, p50, (target.cpu_seconds() - cpu_before) * 1e6 / requests

    for connections in (1, 50):
        rounds = _rounds(targets, lambda t, c=connections: ping(t, c))  # type: ignore[misc]
        _print_ping(rounds, connections)
    proxies = [t for t in targets if t.latency_port]
    latency = _rounds(proxies, lambda t: _blob_seconds(t.latency_port or 0, BLOB_BYTES))
    _print_ratio(f"1 MiB answer through latency={LATENCY_MS} ms: seconds", latency, "time", lower_is_better=True)
    bandwidth = _rounds(
        proxies, lambda t: BANDWIDTH_BYTES / 1000 / _blob_seconds(t.bandwidth_port or 0, BANDWIDTH_BYTES)
    )
    _print_ratio(f"2 MB through bandwidth rate={RATE_KBS} KB/s: achieved KB/s", bandwidth, "rate")


def _print_ping(rounds: list[dict[str, object]], connections: int) -> None:
    def median(label: str, field: int) -> float:
        return statistics.median(float(r[label][field]) for r in rounds)  # type: ignore[index]

    labels = list(rounds[0])
    cells = ", ".join(f"{label} {median(label, 0):.0f} req/s p50 {median(label, 1):.3f} ms" for label in labels)
    print(f"  no toxics, {connections} connection(s): {cells}")
    for label in (x for x in labels if x != "direct"):
        added = median(label, 1) - median("direct", 1)
        print(
            f"    {label}: throughput {median(label, 0) / median('direct', 0):.2f} of direct, added p50 "
            f"{added:.3f} ms, proxy CPU {median(label, 2):.0f} us per request"
        )
    if "toxiproxy" in labels:
        ratios = [float(r["brownout"][0]) / float(r["toxiproxy"][0]) for r in rounds]  # type: ignore[index]
        added_b = median("brownout", 1) - median("direct", 1)
        added_t = median("toxiproxy", 1) - median("direct", 1)
        print(
            f"    brownout/toxiproxy throughput per round: {' '.join(f'{r:.2f}' for r in ratios)}; median "
            f"{statistics.median(ratios):.2f} (aim >= 1.0) {'OK' if statistics.median(ratios) >= 1.0 else 'MISSED'}; "
            f"added p50 {added_b:.3f} vs {added_t:.3f} ms {'OK' if added_b <= added_t else 'MISSED'}; "
            f"CPU per request {median('brownout', 2) / median('toxiproxy', 2):.2f} of Toxiproxy's"
        )


def _print_ratio(title: str, rounds: list[dict[str, object]], what: str, lower_is_better: bool = False) -> None:
    labels = list(rounds[0])
    medians = {label: statistics.median(float(r[label]) for r in rounds) for label in labels}  # type: ignore[arg-type]
    print(f"  {title}: " + ", ".join(f"{label} {value:.3f}" for label, value in medians.items()))
    if "toxiproxy" in labels:
        ratios = [float(r["brownout"]) / float(r["toxiproxy"]) for r in rounds]  # type: ignore[arg-type]
        ratio = statistics.median(ratios)
        within = ratio <= 1.10 if lower_is_better else abs(ratio - 1) <= 0.05
        aim = "<= 1.10" if lower_is_better else "within 0.95..1.05"
        print(
            f"    brownout/toxiproxy {what} per round: {' '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f} "
            f"(aim {aim}) {'OK' if within else 'MISSED'}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-http":
        _serve_http(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--serve-blob":
        _serve_blob(int(sys.argv[2]))
    else:
        main()
