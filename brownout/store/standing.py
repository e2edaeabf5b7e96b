"""Where one run sits against a run store's last releases, for the report's headline rows: the run's value,
each of the last releases' medians, and the verdict `brownout compare --store` gives it (the same judge,
brownout.store.against, not a second one). A pure function of the results directory and the store file.

A store that is missing or unreadable, or holds no release to judge against, is a note, never a failure:
the report is about the run, the history is context."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownout.compare.comparison import load_side
from brownout.compare.figures import Key
from brownout.compare.metrics import AGGREGATED, FAULT, METRICS, OPERATION
from brownout.compare.sources import BROWNOUT, RunSource, SideSources
from brownout.compare.tolerance import load_tolerances
from brownout.compare.verdict import Row
from brownout.errors import InputError
from brownout.store.against import compare_with_store, pick_baseline, release_label
from brownout.store.db import open_store, points, releases
from brownout.store.extract import run_identity

LAST_RELEASES = 5
_OPERATION_METRICS = ("p50", "p95", "error_ratio", "rps")
_FAULT_METRICS = ("availability", "recovery_s")


@dataclass(frozen=True)
class StandingRow:
    scope_kind: str
    scope: str
    metric: str
    value: float | None  # this run's
    medians: tuple[float | None, ...]  # one per release of Standing.releases; None: no run of it has the row
    verdict: str  # compare --store's verdict against Standing.baseline; "" when nothing was judged
    method: str = ""


@dataclass(frozen=True)
class Standing:
    store: str
    releases: tuple[str, ...] = ()  # the store's last releases, oldest first
    baseline: str = ""  # the release the verdicts are against ("" when none could be)
    rows: tuple[StandingRow, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store, "releases": list(self.releases), "baseline_release": self.baseline,
            "rows": [row.__dict__ | {"medians": list(row.medians)} for row in self.rows], "notes": list(self.notes),
        }  # fmt: skip


def standing(store: Path, run: Path) -> Standing:
    """The run's headline rows against the store; a note instead when the store cannot be read."""
    sides = SideSources("candidate", (RunSource(BROWNOUT, run),))
    try:
        medians, labels, baseline = _release_medians(store, sides)
    except InputError as exc:
        return Standing(str(store), notes=(f"release history left out: {exc}",))
    tolerances = load_tolerances(None)
    if not baseline:  # the store holds only this run's own release: medians, no verdicts
        side = load_side(sides, tolerances.stats)
        values = {key: figure.value for key, figure in side.figures.items()}
        note = f"no verdicts: {store} holds no release other than this run's ({release_label(sides) or 'unlabelled'})"
        return Standing(str(store), tuple(labels), "", _rows(values, {}, medians, labels), (note,))
    try:
        comparison = compare_with_store(store, sides, tolerances, baseline)
    except InputError as exc:  # the store changed under us (replaced, removed) since it was read above
        return Standing(str(store), notes=(f"release history left out: {exc}",))
    judged = {(row.scope_kind, row.scope, row.metric): row for row in comparison.rows}
    values = {key: figure.value for key, figure in comparison.candidate.figures.items()}
    rows = _rows(values, judged, medians, labels)
    return Standing(str(store), tuple(labels), baseline, rows, comparison.notes[-1:])


def _release_medians(store: Path, sides: SideSources) -> tuple[dict[tuple[str, Key], float], list[str], str]:
    """Per (release, row) the median over that release's runs (this run left out, if it was added), the last
    releases, and the release compare --store would judge against by default ("" when there is none)."""
    own = run_identity(sides.runs[0])
    with open_store(store) as connection:
        every = releases(connection)
        labels = every[-LAST_RELEASES:]
        medians = {
            (label, key): statistics.median(values)
            for label in labels
            for key, series in points(connection, label).items()
            if (values := [p.value for p in series if p.run_id != own])
        }
    try:
        baseline = pick_baseline(every, release_label(sides), None, store)
    except InputError:
        baseline = ""
    return medians, labels, baseline


def _rows(
    values: dict[Key, float | None], judged: dict[Key, Row], medians: dict[tuple[str, Key], float], labels: list[str]
) -> tuple[StandingRow, ...]:
    faults = sorted({scope for kind, scope, _ in values if kind == FAULT})
    keys = [(OPERATION, AGGREGATED, m) for m in _OPERATION_METRICS]
    keys += [(FAULT, fault, m) for fault in faults for m in _FAULT_METRICS]
    rows = []
    for key in keys:
        if key not in values and not any((label, key) in medians for label in labels):
            continue
        row = judged.get(key)
        rows.append(StandingRow(
            *key, values.get(key), tuple(medians.get((label, key)) for label in labels),
            row.verdict if row else "", row.method if row else "",
        ))  # fmt: skip
    return tuple(rows)


def describe(metric: str, value: float | None) -> str:
    """A value as compare shows it ("12 ms", "97.50 %", "3.10 s")."""
    spec = METRICS.get(metric)
    return "-" if value is None else spec.describe(value) if spec else f"{value:g}"
