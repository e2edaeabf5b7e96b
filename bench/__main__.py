"""`make bench`: run every bench/bench_*.py module's main(), one after another, each printing its figures.

`python -m bench proxy report` runs only the named benchmarks.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def _names(selected: list[str]) -> list[str]:
    found = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if not selected:
        return found
    wanted = {f"bench_{s.removeprefix('bench_')}" for s in selected}
    unknown = wanted - set(found)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(found)}")
    return [n for n in found if n in wanted]


def main() -> None:
    for name in _names(sys.argv[1:]):
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
