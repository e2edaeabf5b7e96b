"""The report names each fault window with its kind as people read it, from the journal's params: an HTTP-level
toxic, a resource fault, a latency with a tail; a resource fault's band has its resource's colour."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.synthetic import SyntheticFault, SyntheticRun, write_synthetic_run
from brownout.checks import Criteria, judge
from brownout.checks.windows import fault_windows
from brownout.history import FaultsWriter, load_history, read_faults
from brownout.report.charts import lane_label, legend_bands, timeline_chart_png
from brownout.report.colours import KIND_COLOURS
from brownout.report.tables import faults_table

RUN = SyntheticRun(
    seconds=60.0, rps=50.0,
    faults=(SyntheticFault("upstream-503", 10.0, 15.0), SyntheticFault("gateway-cpu", 25.0, 30.0),
            SyntheticFault("upstream-tail", 40.0, None)),
)  # fmt: skip
KINDS = (
    ("network", {"proxy": "upstream", "toxic": "http_error", "stream": "upstream", "toxicity": 1.0, "down": False,
                 "attributes": {"status": 503, "headers": {"Retry-After": "2"}, "path_prefix": "/v1/"}}),
    ("resource", {"component": "gateway", "resource": "cpu", "cpus": 2, "ready_timeout_s": 30.0}),
    ("network", {"proxy": "upstream", "toxic": "latency", "stream": "downstream", "toxicity": 1.0, "down": False,
                 "attributes": {"distribution": "pareto", "p50": 100, "p99": 2000}}),
)  # fmt: skip


def _run(tmp_path: Path) -> Path:
    write_synthetic_run(tmp_path, RUN)
    faults = read_faults(tmp_path)
    (tmp_path / "faults.csv").unlink()
    with FaultsWriter(tmp_path) as writer:
        writer.extend([dataclasses.replace(fault, kind=kind, params=params, target=params.get("component", "upstream"))
                       for fault, (kind, params) in zip(faults, KINDS, strict=True)])  # fmt: skip
    return tmp_path


def test_each_band_is_named_with_its_kind_and_coloured_by_it(tmp_path: Path) -> None:
    history = load_history(_run(tmp_path))
    windows = fault_windows(history)
    assert [lane_label(window) for window in windows] == [
        "upstream-503 (network http_error 503 Retry-After 2 for /v1/)",
        "gateway-cpu (resource cpu 2 hogs)",
        "upstream-tail (network latency pareto p50 100ms p99 2000ms) (not healed)",
    ]
    assert legend_bands(windows) == [(KIND_COLOURS["network"], "network fault"),
                                     (KIND_COLOURS["cpu"], "resource cpu fault")]  # fmt: skip
    assert timeline_chart_png(history).startswith(b"\x89PNG")


def test_the_faults_table_says_what_each_fault_was(tmp_path: Path) -> None:
    history = load_history(_run(tmp_path))
    verdict = judge(history, Criteria.from_mapping({}, source="test"))
    table = faults_table(verdict, history.manifest.started_at)
    assert [row[:2] for row in table.rows] == [
        ("upstream-503", "network http_error 503 Retry-After 2 for /v1/ on upstream"),
        ("gateway-cpu", "resource cpu 2 hogs on gateway"),
        ("upstream-tail", "network latency pareto p50 100ms p99 2000ms on upstream"),
    ]
