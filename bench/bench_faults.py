"""Fault start lateness vs plan: 50 scheduled http faults against a local server, idle and under load.

Lateness = actual_start - planned_start from the journal (faults.csv), so it is what the checks see.
The loaded run keeps 8 client threads hammering the same server and 2 threads burning CPU in this
process (the scheduler competes with them for the GIL, as it does with Locust users). Aim: p99 <= 100 ms.
"""

from __future__ import annotations

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
from brownout.scenario import FaultSpec

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
s = ThreadingHTTPServer(("127.0.0.1", 0), H); s.daemon_threads = True
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


def _load(url: str, stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        session.get(f"{url}/load", timeout=5)


def _burn(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(20_000))


def main() -> None:
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        with tempfile.TemporaryDirectory() as scratch:
            idle = _schedule(url, Path(scratch) / "idle")
            stop = threading.Event()
            workers = [threading.Thread(target=_load, args=(url, stop), daemon=True) for _ in range(8)]
            workers += [threading.Thread(target=_burn, args=(stop,), daemon=True) for _ in range(2)]
            for worker in workers:
                worker.start()
            time.sleep(0.3)
            try:
                loaded = _schedule(url, Path(scratch) / "loaded")
            finally:
                stop.set()
                for worker in workers:
                    worker.join(5)
    finally:
        server.terminate()
        server.wait(5)
    print(f"fault start lateness vs plan, {FAULTS} http faults each (ms):")
    print(f"  {'':<8} {'p50':>8} {'p99':>8} {'max':>8}")
    for label, values in (("idle", idle), ("loaded", loaded)):
        print(
            f"  {label:<8} {statistics.median(values):8.2f} {_percentile(values, 0.99):8.2f} {max(values):8.2f}"
        )
    ratio = _percentile(loaded, 0.99) / max(_percentile(idle, 0.99), 0.001)
    verdict = "ok" if _percentile(loaded, 0.99) <= 100 else "ABOVE the 100 ms aim"
    print(f"  p99 loaded / idle: {ratio:.1f}x; loaded p99 {verdict}")


if __name__ == "__main__":
    main()
