"""The figures `brownout store add` records, with the code of a git ref against the working tree's, on the
same runs: a 1-hour run like bench_store's, short runs with telemetry, long-latency faults, step loads and a
timeline whose rows are out of order and flushed twice (the reader's slower paths). Exit 1 on any difference.

    .venv/bin/python -m bench.store_same [REF]    (REF: default main)
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from bench.bench_store import FAULTS
from bench.synthetic import SyntheticFault, write_synthetic_run

_ROOT = Path(__file__).resolve().parent.parent
_SLOW = (SyntheticFault("model-slow", 20.0, 50.0, latency_ms=900.0, recovery_s=4.0),)
_STEPS = ((0.0, 5), (30.0, 20), (60.0, 10))


def _runs(root: Path) -> list[Path]:
    runs = [
        write_synthetic_run(root / "hour", seconds=3600.0, operations=5, rps=1000.0, seed=1, faults=FAULTS),
        write_synthetic_run(root / "short", seconds=90.0, operations=3, seed=2, faults=FAULTS[:1]),
        write_synthetic_run(root / "slow", seconds=120.0, operations=5, seed=3, faults=_SLOW, steps=_STEPS),
        write_synthetic_run(root / "plain", seconds=45.0, operations=2, seed=4, telemetry=False),
    ]
    runs.append(_shuffled(runs[1], root / "shuffled"))
    return runs


def _shuffled(run: Path, target: Path) -> Path:
    """The run with its timeline's rows reversed and every tenth row written twice (as two flushes)."""
    target.mkdir()
    for path in run.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    header, *rows = (run / "timeline.csv").read_text().splitlines()
    doubled = [row for n, row in enumerate(rows) for _ in range(2 if n % 10 == 0 else 1)]
    (target / "timeline.csv").write_text("\n".join([header, *reversed(doubled)]) + "\n")
    return target


def _figures(code: Path, store: Path, runs: list[Path]) -> list[tuple[object, ...]]:
    environment = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-c", "import sys; from brownout.cli import main; sys.exit(main(sys.argv[1:]))"]
    for run in runs:  # one at a time: each its own release
        subprocess.run([*command, "store", "add", str(store), str(run), "--release", run.name],
                       check=True, env=environment, cwd=code, capture_output=True)  # fmt: skip
    with sqlite3.connect(store) as connection:
        rows = connection.execute(
            "SELECT r.release, f.scope_kind, f.scope, f.metric, f.value, f.spread, f.basis, f.requests, f.windows"
            " FROM figures f JOIN runs r USING (run_id) ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return [tuple(row) for row in rows]


def _export(ref: str, target: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref, "brownout"], check=True, cwd=_ROOT, capture_output=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def main() -> None:
    ref = sys.argv[1] if len(sys.argv) > 1 else "main"
    with tempfile.TemporaryDirectory(prefix="store_same_") as directory:
        root = Path(directory)
        runs = _runs(root / "runs")
        old = _figures(_export(ref, root / "old"), root / "old.db", runs)
        new = _figures(_ROOT, root / "new.db", runs)
    differing = [(a, b) for a, b in zip(old, new, strict=False) if a != b]
    print(f"{len(old)} figures of {len(runs)} runs with {ref}, {len(new)} with the working tree; "
          f"{len(differing) + abs(len(old) - len(new))} differ")  # fmt: skip
    for a, b in differing[:20]:
        print(f"  {ref}: {a}\n  now: {b}")
    if differing or len(old) != len(new):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
