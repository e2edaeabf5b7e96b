"""Recovery time measured from the history against the truth: the gateway's own log of its breaker closing.

The upstream is unreachable for a fixed time; the gateway answers fallbacks (degraded) while its breaker
is open, and full answers again once a trial call closes it, some time after the heal that depends on the
breaker's reset timeout. The checker, reading only results/<run-id>/, must find that moment within 0.5 s.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from brownout.history import read_faults
from tests.run.conftest import SCENARIOS, run_dir_of

MESSAGES = "POST /threads/[id]/messages"
_CLOSED = re.compile(r"breaker upstream: \S+ -> closed at (\d+\.\d+)")


def test_measured_recovery_is_within_half_a_second_of_the_breaker_closing(tmp_path: Path, run_brownout) -> None:
    done = run_brownout(str(SCENARIOS / "accuracy.toml"), "--out", str(tmp_path))
    assert done.returncode in (0, 1), done.stderr[-3000:]
    results = run_dir_of(tmp_path)
    (fault,) = read_faults(results)
    assert fault.outcome == "healed" and fault.actual_end is not None
    closes = [float(t) for t in _CLOSED.findall((results / "stack" / "logs" / "gateway.log").read_text())]
    closed_after_heal = [t for t in closes if t >= fault.actual_end - 0.5]
    assert closed_after_heal, f"the breaker never closed after the heal at {fault.actual_end} (closes: {closes})"
    truth = max(0.0, closed_after_heal[0] - fault.actual_end)

    verdict = json.loads((results / "verdict.json").read_text())
    recovery = next(c for c in verdict["checks"] if c["name"] == "recovery")
    measured = recovery["figures"]["faults"][0]["operations"][MESSAGES]
    assert measured["status"] == "recovered", measured
    assert abs(measured["recovery_s"] - truth) <= 0.5, f"measured {measured['recovery_s']} s, truth {truth:.2f} s"
