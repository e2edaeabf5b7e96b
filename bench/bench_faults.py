"""Fault start lateness vs plan: 50 scheduled http faults against a local server, idle and under load.

Lateness = actual_start - planned_start from the journal (faults.csv), so it is what the checks see.
Three runs side by side: idle; a busy machine (other processes burn both cores and hammer the server, as
Locust workers and the target do); and a busy GIL (client and CPU threads inside the scheduler's own
process, the harshest case); and inside a gevent-monkey-patched process with 20 user greenlets
(as in Locust). Aim: p99 <= 100 ms.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from brownout.faults.drivers import HttpDriver
from brownout.faults.journal import FaultJournal
from brownout.faults.kinds import HttpParams, HttpRequestSpec
from brownout.faults.scheduler import FaultScheduler
from brownout.history import read_faults
from brownout.scenario.schema import FaultSpec

FAULTS = 50
SPACING_S = 0.06
DURATION_S = 0.15

_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _ok(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"{}")
    do_GET = do_POST = do_DELETE = _ok
    def log_message(self, *a): pass
class S(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass  # clients killed mid-request
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _schedule(url: str, out: Path) -> list[float]:
    faults, drivers = [], {}
    for i in range(FAULTS):
        name = f"f{i:02d}"
        params = HttpParams(
            inject=HttpRequestSpec("POST", f"{url}/{name}/break"),
            heal=HttpRequestSpec("POST", f"{url}/{name}/heal"),
        )
        # a few faults share a start time, as when two components fail at once
        at = 0.2 + (i - i % 5 // 4) * SPACING_S
        faults.append(
            FaultSpec(
                index=i,
                name=name,
                target=name,
                kind="http",
                params=params,
                duration_s=DURATION_S,
                at_s=at,
                planned_offset_s=at,
            )
        )
        drivers[name] = HttpDriver(params, name)
    scheduler = FaultScheduler(faults, drivers, journal=FaultJournal(out))
    scheduler.start()
    try:
        scheduler.wait(60)
    finally:
        scheduler.heal_all()
    rows = read_faults(out)
    assert all(row.outcome == "healed" for row in rows), [row.outcome for row in rows]
    return [
        1000 * (row.actual_start - row.planned_start)
        for row in rows
        if row.actual_start is not None and row.planned_start is not None
    ]


_HAMMER = """
import sys, requests
s = requests.Session()
while True:
    s.get(sys.argv[1] + "/load", timeout=5)
"""
_BURN = "while True: sum(i * i for i in range(20_000))"


def _load(url: str, stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        session.get(f"{url}/load", timeout=5)


def _burn(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(20_000))


def _with_other_processes(url: str, out: Path) -> list[float]:
    """Other processes keep both cores busy: 2 CPU burners and 2 HTTP clients on the same server."""
    others = [subprocess.Popen([sys.executable, "-c", _BURN]) for _ in range(2)]
    others += [subprocess.Popen([sys.executable, "-c", _HAMMER, url]) for _ in range(2)]
    try:
        time.sleep(0.5)
        return _schedule(url, out)
    finally:
        for process in others:
            process.kill()
            process.wait(5)


def _with_threads_in_process(url: str, out: Path) -> list[float]:
    """The harshest case: 4 HTTP client threads and 1 CPU-burning thread share this process's GIL."""
    stop = threading.Event()
    workers = [threading.Thread(target=_load, args=(url, stop), daemon=True) for _ in range(4)]
    workers += [threading.Thread(target=_burn, args=(stop,), daemon=True)]
    for worker in workers:
        worker.start()
    time.sleep(0.3)
    try:
        return _schedule(url, out)
    finally:
        stop.set()
        for worker in workers:
            worker.join(5)


def _gevent_child(url: str, out: str) -> None:
    """Inside a gevent-monkey-patched process (as in Locust): 20 user greenlets hammer the server."""
    import gevent

    def _user() -> None:
        session = requests.Session()
        while True:
            session.get(f"{url}/load", timeout=5)

    users = [gevent.spawn(_user) for _ in range(20)]
    gevent.sleep(0.3)
    try:
        print(json.dumps(_schedule(url, Path(out))), flush=True)
    finally:
        gevent.killall(users)


def _in_gevent_process(url: str, out: Path) -> list[float]:
    code = (
        "from gevent import monkey; monkey.patch_all()\n"
        "import sys; from bench.bench_faults import _gevent_child; _gevent_child(sys.argv[1], sys.argv[2])"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code, url, str(out)], cwd=root, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"gevent run failed:\n{done.stderr[-2000:]}")
    values: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return values


def main() -> None:
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        with tempfile.TemporaryDirectory() as scratch:
            results = {
                "idle": _schedule(url, Path(scratch) / "idle"),
                "busy machine": _with_other_processes(url, Path(scratch) / "procs"),
                "gevent users": _in_gevent_process(url, Path(scratch) / "gevent"),
                "busy GIL": _with_threads_in_process(url, Path(scratch) / "threads"),
            }
    finally:
        server.terminate()
        server.wait(5)
    print(f"fault start lateness vs plan, {FAULTS} http faults per run (ms):")
    print(f"  {'':<14} {'p50':>8} {'p99':>8} {'max':>8}")
    for label, values in results.items():
        p50, p99 = statistics.median(values), _percentile(values, 0.99)
        print(f"  {label:<14} {p50:8.2f} {p99:8.2f} {max(values):8.2f}")
    idle_p99 = max(_percentile(results["idle"], 0.99), 0.001)
    for label in ("busy machine", "gevent users", "busy GIL"):
        p99 = _percentile(results[label], 0.99)
        verdict = "within" if p99 <= 100 else "ABOVE"
        print(f"  {label}: p99 {p99 / idle_p99:.1f}x idle; {verdict} the 100 ms aim")


if __name__ == "__main__":
    main()
