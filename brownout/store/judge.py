"""Judge one candidate value against the between-run spread of a release's stored runs.

A single run's bootstrap sees only the noise within that run; runs of the same build differ by more (the
machine's contention, the service's warm-up). The baseline runs' values show that directly. The row
regresses when the candidate lies outside the prediction interval for one more run of the baseline,

    mean +- t(df) * sqrt(s^2 * (1 + 1/n) + c^2)

(s: the baseline runs' standard deviation, n of them; c: the candidate's own bootstrap standard deviation,
when it has one) AND the change is beyond the metric's tolerance. s comes from n runs, n - 1 degrees of
freedom; c from the candidate's thousands of requests, as good as known. df is Welch-Satterthwaite's for
their sum: n - 1 when s dominates, towards the normal quantile when c does. (t(n-1) on the whole sum inflated
c's share: with 3 calm runs, t(2) at the per-row level is ~22 against a normal ~3.1, and a p50 2.5x slower
passed as the same.) The level is family-wise (Bonferroni over the judged rows). With fewer than MIN_RUNS
baseline runs s is not known, and the row says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from brownout.compare.bootstrap import student_t_quantile
from brownout.compare.metrics import WIDE_FLOORS, Metric
from brownout.compare.tolerance import Allowance
from brownout.compare.verdict import IMPROVED, NOT_AVAILABLE, NOT_JUDGED, REGRESSED, SAME, Row

MIN_RUNS = 3
NOISE_UNKNOWN = "between-run noise unknown"


@dataclass(frozen=True)
class Candidate:
    value: float | None
    spread: float | None = None  # its own bootstrap standard deviation
    thin: str = ""  # compare's thin-tail reason, when the percentile has too few requests behind it
    one_window: bool = False  # a fault figure of a single fault window (no repetition in the candidate)


def prediction_half_width(values: Sequence[float], candidate_spread: float | None, level: float) -> float:
    """Half the width of the `level` prediction interval for one new run's value (see the top for df)."""
    n = len(values)
    between = statistics.stdev(values) ** 2 * (1 + 1 / n)
    within = (candidate_spread or 0.0) ** 2
    df = (between + within) ** 2 * (n - 1) / between**2 if between > 0 else math.inf
    return student_t_quantile(0.5 + level / 2, df) * math.sqrt(between + within)


def judge_against_runs(
    metric: Metric, where: tuple[str, str], values: Sequence[float], new: Candidate, allowance: Allowance,
    level: float, release: str,
) -> Row:  # fmt: skip
    """One row: `values` are the baseline release's runs' values of this (scope kind, scope, metric)."""
    base = statistics.fmean(values) if values else None
    row = _row(metric, where, base, new.value, allowance)
    runs = f"{len(values)} run{'s' if len(values) != 1 else ''} of {release}"
    if base is None or new.value is None:
        return row(
            interval=None, verdict=NOT_AVAILABLE, method=f"no value in {'baseline' if base is None else 'candidate'}"
        )
    if len(values) < MIN_RUNS:
        return row(interval=None, verdict=NOT_JUDGED, method=f"{NOISE_UNKNOWN}: {runs} (needs {MIN_RUNS})")
    if new.thin:
        return row(interval=None, verdict=SAME, method=new.thin)
    delta = new.value - base
    half = prediction_half_width(values, new.spread, level)
    interval = (delta - half, delta + half)
    harm = -delta if metric.higher_is_better else delta  # > 0: worse
    allowed = allowance.allowed(base)
    verdict = SAME
    if not math.isinf(allowed) and abs(harm) > allowed and abs(delta) > half:
        verdict = REGRESSED if harm > 0 else IMPROVED
    own = " and the candidate's bootstrap" if new.spread else ""
    method = f"prediction interval over {runs}{own}"
    if new.one_window:
        # One fault window is a few seconds of a loaded machine: same-build `ci` runs moved a retry
        # amplification 1.17x -> 1.39x once the machine got busier, outside five calm runs' interval. As in
        # two-directory compare, such a row also needs to be beyond the wide floor.
        floor = WIDE_FLOORS[metric.name]
        if floor.direction(metric, base, new.value) == 0:
            verdict = SAME
        method += f", one window: beyond the wide floor only ({floor.describe(metric)})"
    return row(interval=interval, verdict=verdict, method=method)


def _row(
    metric: Metric, where: tuple[str, str], base: float | None, new: float | None, allowance: Allowance
) -> Callable[..., Row]:
    delta = None if base is None or new is None else new - base
    relative = delta / abs(base) if delta is not None and base else None
    scope_kind, scope = where

    def make(**rest: object) -> Row:
        return Row(
            scope_kind=scope_kind, scope=scope, metric=metric.name, baseline=base, candidate=new, delta=delta,
            relative=relative, tolerance=allowance.describe(metric), **rest,  # type: ignore[arg-type]
        )  # fmt: skip

    return make
