"""Synthetic runs and stores for the store's tests (bench/synthetic.py writes the results directories)."""

from __future__ import annotations

from pathlib import Path

from bench.synthetic import SyntheticFault, write_synthetic_run
from brownout.cli import main as brownout_main

FAULT = SyntheticFault("upstream-down", 8.0, 14.0, recovery_s=2.0)


def synthetic_run(path: Path, seed: int, slowdown: float = 1.0, recovery_s: float = 2.0) -> Path:
    """A short run; distinct start times make distinct runs (the manifest is part of a run's identity)."""
    fault = SyntheticFault(FAULT.name, FAULT.start_s, FAULT.end_s, recovery_s=recovery_s)
    return write_synthetic_run(
        path, seconds=30.0, seed=seed, slowdown=slowdown, started_at=1_700_000_000.0 + 1000 * seed, faults=(fault,)
    )


def store_add(store: Path, *runs: Path, release: str | None = None) -> int:
    return brownout_main(
        ["store", "add", str(store), *(str(r) for r in runs), *(["--release", release] if release else [])]
    )


def locust_set(prefix: Path, p50: int = 20, requests: int = 1000) -> Path:
    """A minimal plain Locust --csv set (stats only) from any project."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    header = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Requests/s,50%,95%"
    lines = [header, f"GET,/a,{requests},3,{p50},{p50},10.0,{p50},{p50 * 3}",
             f",Aggregated,{requests},3,{p50},{p50},10.0,{p50},{p50 * 3}"]  # fmt: skip
    Path(f"{prefix}_stats.csv").write_text("\n".join(lines) + "\n")
    return prefix
