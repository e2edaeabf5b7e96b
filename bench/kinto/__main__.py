"""Same-build false alarms of `brownout compare --store` on Kinto 26.5.0, a service nobody here wrote (issue 18).

    python -m bench.kinto --backend postgresql     # Kinto on a throwaway PostgreSQL cluster (about 12 min)
    python -m bench.kinto --backend memory         # Kinto on its memory backend
    python -m bench.kinto judge results/kinto/postgresql-20260101-120000   # judge those runs again

One Kinto server (bench/kinto/server.py) for the whole measurement; bench/kinto/scenario.toml run 2 x N times
(N = 5) one after another. The first N go into a store as release `base` (`brownout store add STORE RUN...
--release base`); each of the last N, labelled by its git rev, is judged alone with `brownout compare --store
STORE RUN`, default settings (the baseline is the newest release other than the candidate's: `base`). A false
alarm is a candidate whose compare exits 1. Printed: the load average (1 min) sampled every 5 s during each
run, the regressed rows, and for the aggregated latencies and every row flagged anywhere, the values of the
baseline runs and of the candidates. Runs, store and comparisons stay under --out (default
results/kinto/BACKEND-TIME), so `judge` can read them again with another build of brownout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.kinto.server import BACKENDS, DEFAULT_VENV, kinto_server
from bench.support import REPO_ROOT

CLI = [sys.executable, "-m", "brownout"]
SCENARIO = Path(__file__).resolve().parent / "scenario.toml"
ALWAYS_SHOWN = (("operation", "Aggregated", "p50"), ("operation", "Aggregated", "p95"))
RowKey = tuple[str, str, str]


def run_once(host: str, out: Path) -> tuple[int, float, list[float]]:
    """One run of the scenario against `host` into `out`: (exit code, seconds, 1-min load averages seen)."""
    started = time.monotonic()
    with (out.parent / f"{out.name}.log").open("ab") as log:
        process = subprocess.Popen([*CLI, "run", str(SCENARIO), "--host", host, "--out", str(out)], cwd=REPO_ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        loads = [os.getloadavg()[0]]
        while process.poll() is None and time.monotonic() - started < 900:
            time.sleep(5)
            loads.append(os.getloadavg()[0])
        if process.poll() is None:
            process.kill()
        code = process.wait()
    return code, time.monotonic() - started, loads


def measure(backend: str, out: Path, count: int, venv: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-kinto-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # the cluster's launcher may run PostgreSQL as `postgres`
        with kinto_server(backend, workdir, venv) as host:
            for side in ("base", "candidate"):
                for i in range(count):
                    code, seconds, loads = run_once(host, out / side)
                    print(f"{side} run {i + 1}/{count}: exit {code} in {seconds:.0f} s, load average "
                          f"{min(loads):.1f} to {max(loads):.1f} ({_uptime()})", flush=True)  # fmt: skip


def _uptime() -> str:
    return "uptime: " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _runs(directory: Path) -> list[Path]:
    """The run directories in `directory`, oldest first (not the `latest` link)."""
    found = [p for p in directory.iterdir() if p.is_dir() and not p.is_symlink() and (p / "manifest.json").exists()]
    return sorted(found)


def judge(out: Path) -> int:
    """Store the base runs, judge each candidate alone; print per candidate, then the rows' spread. Exit 1
    when any candidate was flagged."""
    base, candidates = _runs(out / "base"), _runs(out / "candidate")
    store = out / "store.db"
    store.unlink(missing_ok=True)
    subprocess.run([*CLI, "store", "add", str(store), *map(str, base), "--release", "base"], check=True,
                   cwd=REPO_ROOT, capture_output=True)  # fmt: skip
    print(f"store: {len(base)} runs of release base; {len(candidates)} candidates, each alone, default settings")
    documents = [_compare(store, run, out / "compare" / run.name) for run in candidates]
    flagged = 0
    for run, document in zip(candidates, documents, strict=True):
        regressed = [_name(_key(r)) for r in document["rows"] if r["verdict"] == "regressed"]
        flagged += document["exit_code"] == 1
        print(f"  {run.name}: exit {document['exit_code']}, {len(document['rows'])} rows; "
              f"regressed: {', '.join(regressed) or 'none'}")  # fmt: skip
    print(f"same-build false alarms: {flagged} of {len(candidates)}")
    spread(store, documents)
    return 1 if flagged else 0


def _compare(store: Path, candidate: Path, out: Path) -> dict[str, Any]:
    done = subprocess.run([*CLI, "compare", "--store", str(store), str(candidate), "--out", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True)  # fmt: skip
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare --store {candidate}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
    document: dict[str, Any] = json.loads((out / "comparison.json").read_text())
    return document


def _key(row: dict[str, Any]) -> RowKey:
    return row["scope_kind"], row["scope"], row["metric"]


def _name(key: RowKey) -> str:
    return f"{key[1]} {key[2]}"


def spread(store: Path, documents: list[dict[str, Any]]) -> None:
    """Per row shown: the baseline runs' values, each candidate's, its tolerance and how often it regressed."""
    from brownout.store.db import open_store, points

    with open_store(store) as connection:
        history = {key: [p.value for p in series] for key, series in points(connection, "base").items()}
    flagged = {_key(r) for d in documents for r in d["rows"] if r["verdict"] == "regressed"}
    print("row: baseline runs (mean, sd) | candidates | tolerance | regressed in")
    for key in [*ALWAYS_SHOWN, *sorted(flagged - set(ALWAYS_SHOWN))]:
        rows = [next((r for r in d["rows"] if _key(r) == key), None) for d in documents]
        values = history.get(key, [])
        mean = statistics.fmean(values) if values else float("nan")
        sd = statistics.stdev(values) if len(values) > 1 else float("nan")
        cands = " ".join(_figure(r["candidate"] if r else None) for r in rows)
        tolerance = next((r["tolerance"] for r in rows if r), "")
        hits = sum(1 for r in rows if r and r["verdict"] == "regressed")
        print(f"  {_name(key)}: {' '.join(map(_figure, values))} ({_figure(mean)}, {_figure(sd)}) | {cands} | "
              f"{tolerance} | {hits} of {len(rows)}")  # fmt: skip


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.kinto", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("measure", "judge"), default="measure")
    parser.add_argument("directory", nargs="?", type=Path, help="judge: an earlier measurement's --out")
    parser.add_argument("--backend", choices=BACKENDS, default="memory")
    parser.add_argument("-n", type=int, default=5, help="runs per side (default 5)")
    parser.add_argument("--out", type=Path, help="default: results/kinto/BACKEND-TIME")
    parser.add_argument("--kinto-venv", type=Path, default=DEFAULT_VENV, help=f"default: {DEFAULT_VENV}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "judge":
        if args.directory is None:
            raise SystemExit("judge: name the directory of an earlier measurement")
        return judge(args.directory)
    out = args.out or REPO_ROOT / "results" / "kinto" / f"{args.backend}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"Kinto on {args.backend}: {args.n} base and {args.n} candidate runs into {out} ({_uptime()})", flush=True)
    measure(args.backend, out, args.n, args.kinto_venv)
    return judge(out)


if __name__ == "__main__":
    sys.exit(main())
