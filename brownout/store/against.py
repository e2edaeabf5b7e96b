"""`brownout compare --store STORE CANDIDATE`: the candidate's rows judged against the spread between the
stored runs of a baseline release (brownout.store.judge), rendered like any comparison."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from brownout.compare.comparison import load_side
from brownout.compare.figures import Figure, Key, Side
from brownout.compare.metrics import (
    FAULT,
    INTEGRITY,
    METRICS,
    Metric,
)
from brownout.compare.render_text import Comparison
from brownout.compare.sources import BROWNOUT, SideSources
from brownout.compare.tolerance import Tolerances
from brownout.compare.verdict import ONLY_BASELINE, ONLY_CANDIDATE, Row, judge, table_rows, thin_tail
from brownout.errors import InputError
from brownout.history.readers import read_manifest
from brownout.store.db import Point, open_store, points, releases, run_count
from brownout.store.extract import run_identity
from brownout.store.judge import MIN_RUNS, NOISE_UNKNOWN, Candidate, judge_against_runs


def compare_with_store(
    store: Path, candidate: SideSources, tolerances: Tolerances, baseline_release: str | None = None
) -> Comparison:
    new = load_side(candidate, tolerances.stats)
    own_runs = {run_identity(run) for run in candidate.runs}
    with open_store(store) as connection:
        release = pick_baseline(releases(connection), release_label(candidate), baseline_release, store)
        # The candidate may be in the store already (added before it was compared): never its own baseline,
        # nor counted among the baseline's runs (counted before it is left out of the series).
        stored = points(connection, release)
        runs = run_count(connection, release) - len(own_runs & {p.run_id for s in stored.values() for p in s})
        history = {key: [p for p in series if p.run_id not in own_runs] for key, series in stored.items()}
    values = {key: [p.value for p in series] for key, series in history.items() if series}
    level, judged = _level(values, new, tolerances)
    rows = _rows(values, new, tolerances, level, release)
    base = Side("baseline", new.kind, (f"{store} release {release} ({runs} runs)",), _means(history))
    notes = list(new.notes) + [_note(release, runs, tolerances.stats.confidence, level, judged)]
    return Comparison(base, new, rows, tuple(notes), tolerances.source, tolerances.stats.confidence)


def pick_baseline(labels: list[str], own: str, asked: str | None, store: Path) -> str:
    if asked is not None:
        if asked not in labels:
            raise InputError(f"--baseline-release {asked}: not in {store} (releases: {', '.join(labels) or 'none'})")
        return asked
    others = [label for label in labels if label != own]
    if not others:
        raise InputError(f"{store}: no release other than the candidate's ({own or 'unlabelled'}) to compare with")
    return others[-1]


def release_label(candidate: SideSources) -> str:
    if candidate.kind != BROWNOUT:
        return ""
    manifest = read_manifest(candidate.runs[0].path)
    return manifest.release or manifest.git_rev


def _means(history: dict[Key, list[Point]]) -> dict[Key, Figure]:
    return {key: Figure(float(np.mean([p.value for p in series]))) for key, series in history.items() if series}


def _level(values: dict[Key, list[float]], new: Side, tolerances: Tolerances) -> tuple[float, int]:
    """Per-row level so the whole table holds the configured confidence (Bonferroni over judged rows)."""
    judged = sum(
        1
        for key, series in values.items()
        if key[0] != INTEGRITY and len(series) >= MIN_RUNS and new.figures.get(key, Figure(None)).value is not None
        and not math.isinf(tolerances.allowance(METRICS[key[2]], key[0], key[1]).allowed(1.0))
    )  # fmt: skip
    return 1.0 - (1.0 - tolerances.stats.confidence) / max(judged, 1), judged


def _note(release: str, runs: int, confidence: float, level: float, judged: int) -> str:
    if runs < MIN_RUNS:
        return (
            f"{NOISE_UNKNOWN}: only {runs} run(s) of release {release} in the store (needs {MIN_RUNS}); no row is "
            "judged: add more runs of it with `brownout store add`"
        )
    return (
        f"baseline: {runs} runs of release {release}; each row against the spread between them (prediction "
        f"interval, {confidence:.0%} for the table as a whole, i.e. {level:.2%} for each of the {judged} rows)"
    )


def _rows(values: dict[Key, list[float]], new: Side, tolerances: Tolerances, level: float, release: str) -> list[Row]:
    def pair(metric: Metric, key: Key) -> Row:
        return _row(metric, key, values.get(key, []), new, tolerances, level, release)

    def one_sided(scope_kind: str, scope: str, in_baseline: bool) -> Row:
        return _one_sided(scope_kind, scope, in_baseline)

    return table_rows(values, new.figures, pair, one_sided)


def _row(
    metric: Metric, key: Key, values: list[float], new: Side, tolerances: Tolerances, level: float, release: str
) -> Row:
    figure = new.figures.get(key, Figure(None))
    if key[0] == INTEGRITY:  # exact counts: any loss beyond the worst stored run is a regression
        base = Figure(max(values), model="exact count") if values else Figure(None)
        return judge(metric, key[0], key[1], base, figure, tolerances, level)
    allowance = tolerances.allowance(metric, key[0], key[1])
    thin = thin_tail(metric, figure, figure, tolerances.stats.min_tail_samples)
    candidate = Candidate(figure.value, _spread(figure), thin, one_window=key[0] == FAULT and figure.windows <= 1)
    return judge_against_runs(metric, (key[0], key[1]), values, candidate, allowance, level, release)


def _spread(figure: Figure) -> float | None:
    if not figure.has_interval or figure.replicates is None:
        return None
    return float(np.nanstd(figure.replicates, ddof=1))


def _one_sided(scope_kind: str, scope: str, in_baseline: bool) -> Row:
    return Row(
        scope_kind=scope_kind, scope=scope, metric="present", baseline=None, candidate=None, delta=None,
        relative=None, interval=None, tolerance="", verdict=ONLY_BASELINE if in_baseline else ONLY_CANDIDATE,
        method="not compared",
    )  # fmt: skip
