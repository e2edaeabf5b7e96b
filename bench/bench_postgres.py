"""The sample gateway on PostgreSQL against SQLite, and the PostgreSQL drivers under gevent, side by side.

1. Drivers under gevent: while 4 greenlets each wait on `SELECT pg_sleep(0.5)`, does a fifth greenlet keep
   ticking every 10 ms (max gap), and do the 4 waits overlap (wall time ~0.5 s, not 2 s)? For psycopg 3
   imported after `monkey.patch_all()`, psycopg 3 imported before it, and pg8000. Then small write
   transactions per second with 16 greenlets, psycopg 3 (patched) vs pg8000.
2. The gateway's write path (POST /threads/<id>/messages: two transactions and an upstream call), SQLite vs
   PostgreSQL (direct, no fault proxy), 8 clients with a thread each, rounds interleaved: req/s and p50.
3. PostgreSQL frozen (SIGSTOP of the server and its backends) under 16 clients: how long until requests
   fail fast (a 503 in under 100 ms: pool exhausted or breaker open), and until a write succeeds after thaw.

Run: `python -m bench postgres` (or `make bench`). Needs Debian's postgresql package. Bounded: ~2 minutes.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import requests

from bench.support import REPO_ROOT, start_process, stop_process
from brownout.net.polling import wait_until
from brownout.net.ports import free_port
from targets.sample.postgres import LaunchError, find_bindir

CLIENTS = 8
ROUND_S = 5.0
ROUNDS = 2
FREEZE_CLIENTS = 16
FREEZE_S = 8.0

_DRIVER_PROBE = r'''
import sys, time
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "psycopg-imported-first":
    import psycopg
from gevent import monkey
monkey.patch_all()
import gevent, uuid

def connect():
    if mode.startswith("psycopg"):
        import psycopg
        return psycopg.connect(host="127.0.0.1", port=port, user="gateway", dbname="gateway", autocommit=True)
    import pg8000.dbapi
    conn = pg8000.dbapi.connect(host="127.0.0.1", port=port, user="gateway", database="gateway")
    conn.autocommit = True
    return conn

gaps = []
def heartbeat():
    last = time.monotonic()
    while True:
        gevent.sleep(0.01)
        now = time.monotonic(); gaps.append(now - last); last = now
gevent.spawn(heartbeat)
conns = [connect() for _ in range(4)]
gevent.sleep(0.1); gaps.clear()
def sleep_on(conn):
    cursor = conn.cursor(); cursor.execute("SELECT pg_sleep(0.5)"); cursor.fetchall()
started = time.monotonic()
gevent.joinall([gevent.spawn(sleep_on, c) for c in conns])
wall = time.monotonic() - started
tps = 0.0
if mode != "psycopg-imported-first":
    setup = connect().cursor(); setup.execute("CREATE TABLE IF NOT EXISTS bench_t (id TEXT PRIMARY KEY)")
    done = [0]
    def writer(conn, until):
        cursor = conn.cursor()
        while time.monotonic() < until:
            cursor.execute("BEGIN"); cursor.execute("INSERT INTO bench_t VALUES (%s)", (uuid.uuid4().hex,))
            cursor.execute("COMMIT"); done[0] += 1
    writers = [connect() for _ in range(16)]
    until = time.monotonic() + 3
    gevent.joinall([gevent.spawn(writer, c, until) for c in writers])
    tps = done[0] / 3
print(f"{wall:.2f} {max(gaps or [wall]) * 1000:.0f} {tps:.0f}")
'''


@contextmanager
def postgres(workdir: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (workdir / "postgres.log").open("ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "targets.sample.postgres", "--port", str(port), "--data-dir", str(workdir / "pg")],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        def ready() -> bool | None:  # None: the server has exited, no use waiting
            if server.poll() is not None:
                return None
            return not subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode

        if not wait_until(ready, done=lambda answer: answer is not False, within_s=90, every_s=0.2):
            raise RuntimeError(f"PostgreSQL did not start; see {workdir / 'postgres.log'}")
        yield port, server
    finally:
        _signal_tree(server.pid, signal.SIGCONT)
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            _signal_tree(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


def _signal_tree(pid: int, sig: int) -> None:
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for member in members:
        with suppress(psutil.Error):
            member.send_signal(sig)


def drivers(port: int) -> None:
    print("1. drivers under gevent: 4 x pg_sleep(0.5) with a 10 ms heartbeat; 16-greenlet write tx/s")
    print(f"   {'driver':<28} {'wall s':>7} {'max gap ms':>11} {'tx/s':>7}")
    for mode in ("psycopg-imported-after", "psycopg-imported-first", "pg8000"):
        result = subprocess.run(
            [sys.executable, "-c", _DRIVER_PROBE, mode, str(port)], capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            print(f"   {mode:<28} failed: {result.stderr.strip().splitlines()[-1:]}")
            continue
        wall, gap, tps = result.stdout.split()
        print(f"   {mode:<28} {wall:>7} {gap:>11} {tps if tps != '0' else '-':>7}")


class Gateway:
    def __init__(self, workdir: Path, name: str, store_flags: list[str], upstream: str, notifier: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            sys.executable, "-m", "targets.sample.gateway", "--port", str(self.port), "--data-dir",
            str(workdir / name), "--upstream-url", upstream, "--notifier-url", notifier, *store_flags,
        ]  # fmt: skip
        self.process = start_process(argv, f"{self.url}/readyz", workdir / f"{name}.log", timeout=60)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def load(gateway: Gateway, clients: int, seconds: float) -> list[tuple[float, float, int]]:
    """(start, duration, status) of every POST by `clients` threads, each on its own thread, for `seconds`."""
    samples: list[tuple[float, float, int]] = []
    until = time.monotonic() + seconds

    def client() -> None:
        http = _session()
        thread_id = http.post(f"{gateway.url}/threads", json={}, timeout=10).json()["thread_id"]
        while time.monotonic() < until:
            key = uuid.uuid4().hex
            started = time.monotonic()
            try:
                status = http.post(
                    f"{gateway.url}/threads/{thread_id}/messages", json={"text": key},
                    headers={"Idempotency-Key": key}, timeout=15,
                ).status_code  # fmt: skip
            except requests.RequestException:
                status = 0
            samples.append((started, time.monotonic() - started, status))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def write_path(sqlite: Gateway, pg: Gateway) -> None:
    print(f"2. write path, {CLIENTS} clients, {ROUNDS} interleaved rounds of {ROUND_S:g} s each")
    results: dict[str, list[tuple[float, float, int]]] = {"sqlite": [], "postgres": []}
    for _ in range(ROUNDS):
        for name, gateway in (("sqlite", sqlite), ("postgres", pg)):
            results[name] += load(gateway, CLIENTS, ROUND_S)
    figures = {}
    for name, samples in results.items():
        ok = [d for _, d, status in samples if status == 201]
        figures[name] = (len(ok) / (ROUNDS * ROUND_S), statistics.median(ok) * 1000 if ok else float("nan"))
        rate, p50 = figures[name]
        print(f"   {name:<9} {rate:7.1f} req/s  p50 {p50:6.1f} ms  ({len(samples) - len(ok)} not 201)")
    print(
        f"   postgres/sqlite: throughput x{figures['postgres'][0] / figures['sqlite'][0]:.2f}, "
        f"p50 x{figures['postgres'][1] / figures['sqlite'][1]:.2f}"
    )


def freeze(pg: Gateway, server: subprocess.Popen[bytes]) -> None:
    print(f"3. PostgreSQL frozen for {FREEZE_S:g} s under {FREEZE_CLIENTS} clients")
    frozen_at: list[float] = []
    thawed_at: list[float] = []

    def fault() -> None:
        time.sleep(2.0)
        _signal_tree(server.pid, signal.SIGSTOP)
        frozen_at.append(time.monotonic())
        time.sleep(FREEZE_S)
        _signal_tree(server.pid, signal.SIGCONT)
        thawed_at.append(time.monotonic())

    faulter = threading.Thread(target=fault)
    faulter.start()
    samples = load(pg, FREEZE_CLIENTS, 2.0 + FREEZE_S + 8.0)
    faulter.join()
    start, thaw = frozen_at[0], thawed_at[0]
    ended = sorted((s + d, d, status) for s, d, status in samples)
    first_503 = next((t for t, _, status in ended if t > start and status == 503), None)
    fast = next((t for t, d, status in ended if t > start and status == 503 and d < 0.1), None)
    back = next((t for t, _, status in ended if t > thaw and status == 201), None)
    slowest = max((d for t, d, _ in ended if start < t < thaw), default=float("nan"))
    print(f"   first 503 after {_since(first_503, start)}; first fast 503 (< 100 ms) after {_since(fast, start)}")
    print(f"   slowest answer while frozen {slowest:.2f} s; first write after thaw {_since(back, thaw)}")


def _since(moment: float | None, origin: float) -> str:
    return "never" if moment is None else f"{moment - origin:.2f} s"


def main() -> None:
    try:
        find_bindir()
    except LaunchError as exc:
        print(f"skipped: {exc}")
        return
    with tempfile.TemporaryDirectory(prefix="bench-postgres-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # the launcher may run PostgreSQL as `postgres`
        with postgres(workdir) as (port, server):
            drivers(port)
            upstream_port, notifier_port = free_port(), free_port()
            upstream = start_process(
                [sys.executable, "-m", "targets.sample.upstream", "--port", str(upstream_port), "--latency-ms", "2"],
                f"http://127.0.0.1:{upstream_port}/readyz", workdir / "upstream.log",
            )  # fmt: skip
            notifier = start_process(
                [sys.executable, "-m", "targets.sample.notifier", "--port", str(notifier_port)],
                f"http://127.0.0.1:{notifier_port}/readyz", workdir / "notifier.log",
            )  # fmt: skip
            urls = (f"http://127.0.0.1:{upstream_port}", f"http://127.0.0.1:{notifier_port}")
            gateways: list[Gateway] = []
            try:
                gateways.append(Gateway(workdir, "sqlite", [], *urls))
                pg_url = f"postgresql://gateway@127.0.0.1:{port}/gateway"
                gateways.append(Gateway(workdir, "postgres", ["--store", "postgres", "--postgres-url", pg_url], *urls))
                write_path(*gateways)
                freeze(gateways[1], server)
            finally:
                for process in [g.process for g in gateways] + [upstream, notifier]:
                    stop_process(process)


if __name__ == "__main__":
    main()
