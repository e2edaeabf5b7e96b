"""The fault proxy against Toxiproxy itself: the same client through direct, `brownout proxy` and Toxiproxy.

Side by side in one run, in alternating rounds (the order rotates each round, so a noisy neighbour hits
all three), printing medians and brownout/Toxiproxy ratios per round:

- no toxics, 1 and 50 connections: throughput and added p50 over direct, on kept-alive connections and
  with a new connection per request. The client is redis-benchmark (`-t ping_mbulk`) against redis-server
  when both are installed (`apt-get install -y redis-server`), as in issue 10; otherwise HTTP GETs to a
  Flask/gevent backend from Python threads.
- a 1 MiB answer through `latency = 100` (Toxiproxy: about 0.1 s);
- a 2 MB answer through `bandwidth = 1000` KB/s: the rate each achieves.

Toxiproxy is the anchor binary (env BROWNOUT_TOXIPROXY, else ../shared/anchors/toxiproxy-server beside the
repository or its worktree folder); without it the Toxiproxy column is skipped with a clear line and
brownout is compared with direct only. Bounded: about 3 minutes.

The machine is shared: the load average is printed before and after, rounds are many and short (noise
from a neighbour hits one round, not one target), and each aim is judged on the median of the per-round
ratios. `BROWNOUT_BENCH_ROUNDS` changes the number of rounds (default 9).
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

from bench.support import stop_process, toxiproxy_binary, wait_listening
from brownout.net.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BROWNOUT_BENCH_ROUNDS", "9"))
# (connections, kept alive) -> requests per measurement: about half a second each through a proxy
REDIS_REQUESTS = {(1, True): 5_000, (50, True): 15_000, (1, False): 800, (50, False): 1_500}
HTTP_WINDOW_S = 0.8
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


def _redis_benchmark(port: int, connections: int, keep_alive: bool) -> tuple[float, float, int]:
    """(requests per second, p50 ms, requests) of redis-benchmark's PING_MBULK."""
    requests = REDIS_REQUESTS[connections, keep_alive]
    argv = ["redis-benchmark", "-p", str(port), "-t", "ping_mbulk", "-n", str(requests),
            "-c", str(connections), "-k", "1" if keep_alive else "0", "--csv"]  # fmt: skip
    output = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout
    for line in output.splitlines():
        fields = [f.strip('"') for f in line.split(",")]
        if fields[0] == "PING_MBULK":
            return float(fields[1]), float(fields[4]), requests
    raise RuntimeError(f"no PING_MBULK line in redis-benchmark's output: {output!r}")


class _HttpClient:
    """HTTP/1.1 GETs on one connection at a time; minimal parsing so the client costs little, always the same."""

    def __init__(self, port: int, keep_alive: bool) -> None:
        self.port = port
        self.keep_alive = keep_alive
        self.sock: socket.socket | None = None

    def get(self) -> None:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(b"GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n")
        data = b""
        while not (b"\r\n\r\n" in data and data.endswith(b"pong")):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the keep-alive connection")
            data += chunk
        if not self.keep_alive:
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _http_benchmark(port: int, connections: int, keep_alive: bool) -> tuple[float, float, int]:
    """(requests per second, p50 ms, requests) of GETs from `connections` threads for a fixed window."""
    samples: list[list[float]] = [[] for _ in range(connections)]
    deadline = time.monotonic() + HTTP_WINDOW_S

    def worker(index: int) -> None:
        client = _HttpClient(port, keep_alive)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                client.get()
                samples[index].append((time.perf_counter() - started) * 1000)
        finally:
            client.close()

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
        f"http://127.0.0.1:{api_port}{path}",
        data=json.dumps(body).encode(),
        method=method,
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
    client = "redis-benchmark -t ping_mbulk to redis-server" if use_redis else "HTTP GETs"
    print(f"fault proxy vs direct vs Toxiproxy: {client}; {ROUNDS} alternating rounds, medians; {_load()}")
    if toxiproxy is None:
        print("  Toxiproxy: SKIPPED (no anchor binary: set BROWNOUT_TOXIPROXY or put it in ../shared/anchors/)")
    benchmark = _redis_benchmark if use_redis else _http_benchmark

    def ping(target: Target, connections: int, keep_alive: bool) -> tuple[float, float, float]:
        cpu_before = target.cpu_seconds()
        rate, p50, requests = benchmark(target.ping_port, connections, keep_alive)
        return rate, p50, (target.cpu_seconds() - cpu_before) * 1e6 / requests

    aims: dict[str, bool] = {}
    for keep_alive in (True, False):
        for connections in (1, 50):
            rounds = _rounds(targets, lambda t, c=connections, k=keep_alive: ping(t, c, k))  # type: ignore[misc]
            kind = "kept-alive" if keep_alive else "new connection per request (not among issue 10's aims)"
            judged = _print_ping(rounds, f"{connections} connection(s), {kind}")
            if keep_alive:
                aims |= {f"{name}, {connections} connection(s)": met for name, met in judged.items()}
    proxies = [t for t in targets if t.latency_port]
    latency = _rounds(proxies, lambda t: _blob_seconds(t.latency_port or 0, BLOB_BYTES))
    title = f"1 MiB answer through latency={LATENCY_MS} ms: seconds"
    aims |= _print_ratio(title, latency, "time", lower_is_better=True)
    bandwidth = _rounds(
        proxies, lambda t: BANDWIDTH_BYTES / 1000 / _blob_seconds(t.bandwidth_port or 0, BANDWIDTH_BYTES)
    )
    aims |= _print_ratio(f"2 MB through bandwidth rate={RATE_KBS} KB/s: achieved KB/s", bandwidth, "rate")
    if aims:
        missed = [name for name, met in aims.items() if not met]
        print(
            f"  aims met: {len(aims) - len(missed)} of {len(aims)}"
            + (f"; missed: {'; '.join(missed)}" if missed else "")
        )
    print(f"  {_load()} at the end")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def _print_ping(rounds: list[dict[str, object]], title: str) -> dict[str, bool]:
    def median(label: str, field: int) -> float:
        return statistics.median(float(r[label][field]) for r in rounds)  # type: ignore[index]

    labels = list(rounds[0])
    cells = ", ".join(f"{label} {median(label, 0):.0f} req/s p50 {median(label, 1):.3f} ms" for label in labels)
    print(f"  no toxics, {title}: {cells}")
    for label in (x for x in labels if x != "direct"):
        added = median(label, 1) - median("direct", 1)
        print(
            f"    {label}: throughput {median(label, 0) / median('direct', 0):.2f} of direct, added p50 "
            f"{added:.3f} ms, proxy CPU {median(label, 2):.0f} us per request"
        )
    if "toxiproxy" not in labels:
        return {}
    ratios = [float(r["brownout"][0]) / float(r["toxiproxy"][0]) for r in rounds]  # type: ignore[index]
    ratio = statistics.median(ratios)
    added_b = median("brownout", 1) - median("direct", 1)
    added_t = median("toxiproxy", 1) - median("direct", 1)
    print(
        f"    brownout/toxiproxy throughput per round: {' '.join(f'{r:.2f}' for r in ratios)}; median "
        f"{ratio:.2f} (aim >= 1.0) {_ok(ratio >= 1.0)}; added p50 {added_b:.3f} vs {added_t:.3f} ms "
        f"{_ok(added_b <= added_t)}; CPU per request {median('brownout', 2) / median('toxiproxy', 2):.2f} of "
        "Toxiproxy's"
    )
    return {"throughput": ratio >= 1.0, "added p50": added_b <= added_t}


def _print_ratio(
    title: str, rounds: list[dict[str, object]], what: str, lower_is_better: bool = False
) -> dict[str, bool]:
    labels = list(rounds[0])
    medians = {label: statistics.median(float(r[label]) for r in rounds) for label in labels}  # type: ignore[arg-type]
    print(f"  {title}: " + ", ".join(f"{label} {value:.3f}" for label, value in medians.items()))
    if "toxiproxy" not in labels:
        return {}
    ratios = [float(r["brownout"]) / float(r["toxiproxy"]) for r in rounds]  # type: ignore[arg-type]
    ratio = statistics.median(ratios)
    within = ratio <= 1.10 if lower_is_better else abs(ratio - 1) <= 0.05
    aim = "<= 1.10" if lower_is_better else "within 0.95..1.05"
    print(
        f"    brownout/toxiproxy {what} per round: {' '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f} "
        f"(aim {aim}) {_ok(within)}"
    )
    return {title.split(":")[0]: within}


def _ok(met: bool) -> str:
    return "OK" if met else "MISSED"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-http":
        _serve_http(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--serve-blob":
        _serve_blob(int(sys.argv[2]))
    else:
        main()
