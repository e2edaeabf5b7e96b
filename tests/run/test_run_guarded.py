"""A service broken for good mid-run (the gateway killed and left down): the guard aborts within its window
+ 2 s, every fault is healed, nothing of the run survives it, and every place says why."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_guards import BROKEN, run_guarded

WINDOW_S = 5.0  # guarded.toml's


def test_a_broken_service_is_healed_and_stopped_by_its_guard(tmp_path: Path) -> None:
    run = run_guarded(BROKEN, tmp_path, timeout_s=120)
    assert run.code == 1, run.output[-3000:]
    assert run.abort_after_s is not None and run.abort_after_s <= WINDOW_S + 2, run.abort_after_s
    assert run.unhealed == () and run.survivors == ()
    line = run.abort_line
    assert line is not None and line.startswith("aborted by guard: availability ") and "'gateway-gone'" in line
    assert f"brownout run: {run.results.name}: {line}" in run.output  # the closing lines
    verdict = json.loads((run.results / "verdict.json").read_text())
    assert verdict["verdict"] == "fail"
    assert next(c for c in verdict["checks"] if c["name"] == "guard")["summary"] == line
    assert f"| guard | FAIL | {line}" in (run.results / "report.md").read_text()
    assert line in (run.results / "faults.csv").read_text()  # the journal: the fault was aborted, and why
