"""What the brownout Locust plugin costs: throughput next to bare Locust, and an hour's timeline and memory.

1. Plugin overhead. One tiny gevent stream server (prepared bytes, keep-alive, TCP_NODELAY) in its own process;
   Locust (local runner, one process, no `--processes`) runs 20 FastHttpUsers with no wait time against it
   for 15 s, headless: variant A is the bare user, variant B the same user with `brownout.plugin.hooks`
   imported and its session active (scenario with a `[target]`, results to a temporary directory). The
   variants run in pairs of alternating order (A B, B A, A B) after one uncounted warm-up run; each run's
   requests/s is read from its `--csv` stats (Aggregated row). With no wait time Locust is CPU-bound on its
   one core (the app has the other), so the ratio B/A is the plugin's whole cost per request (request
   listener, tick flushes, metrics scrape): the worst case. Aim: median ratio >= 0.97; above 1.02 the
   benchmark measures something besides the plugin. Other load on a shared machine changes how much CPU
   Locust gets from run to run, so the output adds figures that cancel it: requests per CPU-second of Locust
   and CPU µs per request over the steady part of each run, from samples the locustfile writes twice a
   second (user.py), and the listener's own cost, timed by firing `request` events in a Locust process
   (listener_cost.py).
2. An hour at 1,000 requests/s (3.6 M synthetic requests, 5 operations) through `TimelineRecorder.record`,
   flushed to a `TimelineWriter` as the plugin does: timeline.csv size (aim < 50 MB), memory (RSS at 10 %,
   50 %, 100 % of the hour; flat is the aim; plus a tracemalloc peak of a 2-minute pass) and the cost per
   request in µs.

Run: `python -m bench plugin` (or `make bench`). Bounded: about 2 minutes.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.plugin_support.hour import HOUR_S, RATE, run_hour, traced_peak_mib
from bench.support import REPO_ROOT, start_process, stop_process
from brownout.net.ports import free_port

SUPPORT = Path(__file__).resolve().parent / "plugin_support"
USERS = 20
RUN_S = 15
ROUNDS = 3
STEADY_MARGIN_S = 2.0  # left out at both ends of a run: spawning, stopping
SAMPLES_ENV = "BENCH_PLUGIN_SAMPLES"  # read by plugin_support/user.py (not imported here: it imports locust)
RUN_TIMEOUT_S = RUN_S + 60


@dataclass(frozen=True)
class Steady:
    """The steady part of a run (after spawning, before stopping), from the locustfile's own samples."""

    rps: float
    cpu_share: float  # Locust's CPU time over wall time (1.0 = one core busy)
    cpu_us_per_request: float


@dataclass(frozen=True)
class LocustRun:
    variant: str
    requests: int  # Locust's final count (its --json-file; the csv is rewritten each second, so it lags)
    failures: int
    rps: float  # the --csv Aggregated row's Requests/s
    steady: Steady
    recorded: int | None  # requests in the plugin's timeline.csv (variant B only)
    app_cpu_us_per_request: float  # the tiny app's CPU over the whole run: near Locust's, the app bounds the rate

    @property
    def requests_per_cpu_s(self) -> float:
        return 1e6 / self.steady.cpu_us_per_request


def _locust_argv(locustfile: Path, host: str, csv_prefix: Path) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(USERS), "-r", str(USERS),
        "-t", f"{RUN_S}s", "--host", host, "--csv", str(csv_prefix), "--json-file", str(csv_prefix),
        "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip


def _aggregated(stats_csv: Path) -> dict[str, str]:
    with stats_csv.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if row.get("Name") == "Aggregated":
                return row
    raise RuntimeError(f"{stats_csv}: no Aggregated row")


def _timeline_total(results_dir: Path) -> int:
    with (results_dir / "timeline.csv").open(newline="", encoding="utf-8") as file:
        return sum(int(row["ok"]) + int(row["degraded"]) + int(row["failed"]) for row in csv.DictReader(file))


def _steady(samples_path: Path) -> Steady:
    """Rate and CPU between STEADY_MARGIN_S after the first request and STEADY_MARGIN_S before the last one.

    The run's end is where its request count stopped growing, not RUN_S after the first request: Locust's
    run-time timer starts from the event loop's cached clock, so a run whose start-up blocked the loop for
    longer (the plugin variant imports and opens more) ends earlier, and a fixed window would take in its
    stopping phase (CPU, no requests) but not the other variant's."""
    samples = [tuple(map(float, line.split())) for line in samples_path.read_text().splitlines() if line.strip()]
    first = next((t for t, requests, _ in samples if requests > 0), None)
    if first is None:
        raise RuntimeError(f"{samples_path}: Locust sent no requests")
    final = max(requests for _, requests, _ in samples)
    last = min(t for t, requests, _ in samples if requests == final)
    window = [s for s in samples if first + STEADY_MARGIN_S <= s[0] <= last - STEADY_MARGIN_S]
    if len(window) < 2:
        raise RuntimeError(f"{samples_path}: too few samples in the steady part of the run")
    (t0, r0, c0), (t1, r1, c1) = window[0], window[-1]
    return Steady((r1 - r0) / (t1 - t0), (c1 - c0) / (t1 - t0), (c1 - c0) / (r1 - r0) * 1e6)


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _run_locust(variant: str, host: str, workdir: Path, index: int, app: psutil.Process) -> LocustRun:
    prefix = workdir / f"{variant}-{index}"
    results = workdir / f"results-{index}"
    samples = workdir / f"{variant}-{index}.samples"
    if variant == "plain":
        argv = _locust_argv(SUPPORT / "plain_locustfile.py", host, prefix)
    else:
        argv = _locust_argv(SUPPORT / "plugin_locustfile.py", host, prefix)
        argv += ["--brownout-scenario", str(SUPPORT / "scenario.toml"), "--brownout-out", str(results)]
    # Locust puts the locustfile's directory on sys.path, not the repo root that `bench.` lives in.
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, SAMPLES_ENV: str(samples)}
    log_path = workdir / f"{variant}-{index}.log"
    app_cpu_before = _cpu_s(app)
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        code = process.wait(timeout=RUN_TIMEOUT_S)
    finally:
        stop_process(process)
    if code != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"locust ({variant}) exited with {code}\n--- log tail ---\n{tail}")
    row = _aggregated(Path(f"{prefix}_stats.csv"))
    final = json.loads(Path(f"{prefix}.json").read_text(encoding="utf-8"))
    recorded = _timeline_total(results) if variant == "plugin" else None
    requests = sum(entry["num_requests"] for entry in final)
    app_us = (_cpu_s(app) - app_cpu_before) / max(1, requests) * 1e6
    return LocustRun(
        variant, requests, int(row["Failure Count"]), float(row["Requests/s"]), _steady(samples), recorded, app_us
    )  # fmt: skip


def _overhead(workdir: Path) -> None:
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    app = start_process(
        [sys.executable, "-m", "bench.plugin_support.app", "--port", str(port)], f"{host}/", workdir / "app.log"
    )
    runs: list[LocustRun] = []
    try:
        server = psutil.Process(app.pid)
        _run_locust("plain", host, workdir, -1, server)  # warms the app, the page cache and .pyc files; not counted
        for index in range(ROUNDS):
            # A B, B A, A B ...: neither variant always goes first (the first of a pair met a colder machine)
            order = ("plain", "plugin") if index % 2 == 0 else ("plugin", "plain")
            for variant in order:
                runs.append(_run_locust(variant, host, workdir, index, server))
        listener = _listener_cost(host, workdir)
    finally:
        stop_process(app)
    plain = [r for r in runs if r.variant == "plain"]
    _print_overhead(plain, [r for r in runs if r.variant == "plugin"])
    _print_listener(listener, statistics.median(r.steady.cpu_us_per_request for r in plain))


def _listener_cost(host: str, workdir: Path) -> dict[str, float]:
    argv = [sys.executable, "-m", "bench.plugin_support.listener_cost", "--host", host]
    argv += ["--scenario", str(SUPPORT / "scenario.toml"), "--out", str(workdir / "listener")]
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"listener_cost exited with {done.returncode}\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _print_listener(figures: dict[str, float], locust_us: float) -> None:
    extra = figures["plugin_us"] - figures["bare_us"]
    events = f"{figures['events']:,.0f}"
    print(f"  listener cost measured directly in a Locust process ({events} `request` events, bare vs plugin):")
    print(f"    {figures['bare_us']:.1f} -> {figures['plugin_us']:.1f} µs per event: {extra:+.1f} µs per request; bare")
    print(f"    Locust spends {locust_us:.0f} CPU µs per request (median of A), so the implied throughput ratio")
    print(f"    is {locust_us / (locust_us + extra):.3f} (listener only; flushing is measured below)")


def _print_overhead(plain: list[LocustRun], plugin: list[LocustRun]) -> None:
    def ratios(figure: Callable[[LocustRun], float]) -> str:
        values = [figure(b) / figure(a) for a, b in zip(plain, plugin, strict=True)]
        return f"{statistics.median(values):.3f}   (median of {' '.join(f'{v:.3f}' for v in values)})"

    print(f"Locust throughput: {USERS} FastHttpUsers (no wait), {RUN_S} s headless runs, GET / on a tiny gevent server")
    print("app in its own process; Locust's local runner in one process (no --processes), CPU-bound on one core:")
    print("what is measured is Locust's request rate, so the plugin's whole per-request cost shows (worst case).")
    print(f"{ROUNDS} pairs in alternating order (A B, B A, ...) after a warm-up run; A bare user, B + plugin:")
    for label, group in (("A bare", plain), ("B plugin", plugin)):
        rates = " ".join(f"{r.rps:.0f}" for r in group)
        steady = " ".join(f"{r.steady.rps:.0f}" for r in group)
        cpu = " ".join(f"{r.steady.cpu_share:.2f}" for r in group)
        per_request = " ".join(f"{r.steady.cpu_us_per_request:.0f}" for r in group)
        app_us = " ".join(f"{r.app_cpu_us_per_request:.0f}" for r in group)
        print(f"  {label:9} csv req/s {rates}; steady req/s {steady};")
        print(f"  {'':9} Locust CPU {cpu} cores; {per_request} CPU µs/request; app {app_us} CPU µs/request")
    print(f"  throughput ratio B/A (csv Aggregated Requests/s)   {ratios(lambda r: r.rps)}   aim 0.97-1.02")
    print(f"  steady-state ratio B/A (requests/s, {STEADY_MARGIN_S:g} s trimmed)    {ratios(lambda r: r.steady.rps)}")
    print(f"  per-CPU-second ratio B/A (other load on the box cancels)  {ratios(lambda r: r.requests_per_cpu_s)}")
    extra = statistics.median(b.steady.cpu_us_per_request - a.steady.cpu_us_per_request
                              for a, b in zip(plain, plugin, strict=True))  # fmt: skip
    print(f"  plugin's Locust CPU per request: {extra:+.1f} µs (median of pairs)")
    recorded = " ".join(f"{r.recorded:,}/{r.requests:,}" for r in plugin)
    failures = sum(r.failures for r in plain + plugin)
    print(f"  requests in the plugin's timeline.csv / Locust's final count: {recorded}")
    print(f"  failed requests in all runs: {failures}")


def _hour(workdir: Path) -> None:
    figures = run_hour(workdir / "hour")
    peak = traced_peak_mib(workdir / "peak")
    per_request = 1e6 / figures.requests
    record_us, flush_us = figures.record_s * per_request, figures.flush_s * per_request
    print(f"A synthetic hour at {RATE:,} requests/s ({figures.requests:,} requests over {HOUR_S} simulated s,")
    print("5 operations, log-normal latencies with a 1 % slow tail; flushed every 0.25 s, buckets older than 1 s):")
    print(f"  timeline.csv          {figures.size_bytes / 1e6:6.1f} MB, {figures.rows:,} rows   (aim < 50 MB)")
    rss = ", ".join(f"{p} %: {mib:.1f} MiB" for p, mib, _ in figures.rss_mib)
    held = "/".join(str(held) for _, _, held in figures.rss_mib)
    growth = figures.rss_mib[-1][1] - figures.rss_mib[0][1]
    print(f"  process RSS           {rss}: {growth:+.1f} MiB from 10 % to 100 %   (aim: flat)")
    print(f"  buckets held          {held} at 10/50/100 % (bucket x operation cells not yet written)")
    print(f"  tracemalloc peak      {peak:.2f} MiB allocated by recorder + writer over a 2-minute pass")
    print(
        f"  cost per request      {record_us:.2f} µs record + {flush_us:.2f} µs flush/write = "
        f"{record_us + flush_us:.2f} µs   ({figures.record_s + figures.flush_s:.1f} s for the hour)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as tmp:
        workdir = Path(tmp)
        _overhead(workdir)
        _hour(workdir)


if __name__ == "__main__":
    main()
