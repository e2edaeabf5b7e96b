"""Judge each figure: delta, relative delta, confidence interval, tolerance, and one verdict per row.

A row regresses only when the change in the bad direction is beyond its tolerance AND, where the inputs
allow an interval, the interval of the difference lies entirely on the bad side of zero. Improvements are
judged the same way in the good direction; everything else is "same". A fault row needs an interval (two
or more windows per side); without one it is "not judged" unless the change is beyond a wide floor.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass

from brownout.compare.bootstrap import difference_interval, few_units_interval
from brownout.compare.figures import Figure, Key, Side
from brownout.compare.metrics import (
    AGGREGATED,
    FAULT,
    FAULT_METRICS,
    INTEGRITY,
    METRICS,
    OPERATION,
    OPERATION_METRICS,
    WIDE_FLOORS,
    Metric,
    integrity_metric,
    integrity_metrics,
)
from brownout.compare.tolerance import Allowance, Tolerances

IMPROVED = "improved"
SAME = "same"
REGRESSED = "regressed"
ONLY_BASELINE = "only in baseline"
ONLY_CANDIDATE = "only in candidate"
NOT_AVAILABLE = "n/a"
TOLERANCE_ONLY = "point estimate: tolerance only"
NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class Row:
    scope_kind: str
    scope: str
    metric: str
    baseline: float | None
    candidate: float | None
    delta: float | None
    relative: float | None
    interval: tuple[float, float] | None
    tolerance: str
    verdict: str
    method: str

    @property
    def spec(self) -> Metric | None:
        if self.scope_kind == INTEGRITY and self.verdict not in (ONLY_BASELINE, ONLY_CANDIDATE):
            return integrity_metric(self.metric)  # violations are named by the record, not known here
        return METRICS.get(self.metric)


def family_level(baseline: Side, candidate: Side, tolerances: Tolerances) -> tuple[float, int]:
    """Per-row confidence level so that the whole table has the configured confidence (Bonferroni):
    with twenty rows at 95 % each, a same-build pair would show a "significant" row every other time."""
    judged = sum(
        1
        for key, base in baseline.figures.items()
        if base.has_interval
        and key in candidate.figures
        and candidate.figures[key].has_interval
        and not math.isinf(tolerances.allowance(METRICS[key[2]], key[0], key[1]).allowed(1.0))
    )
    return 1.0 - (1.0 - tolerances.stats.confidence) / max(judged, 1), judged


def compare_sides(baseline: Side, candidate: Side, tolerances: Tolerances) -> list[Row]:
    level, _ = family_level(baseline, candidate, tolerances)

    def pair(metric: Metric, key: Key) -> Row:
        base, new = baseline.figures.get(key, Figure(None)), candidate.figures.get(key, Figure(None))
        return judge(metric, key[0], key[1], base, new, tolerances, level)

    def one_sided(scope_kind: str, scope: str, in_baseline: bool) -> Row:
        return _one_sided(scope_kind, scope, baseline, candidate, in_baseline)

    return table_rows(baseline.figures, candidate.figures, pair, one_sided)


def table_rows(
    base_keys: Collection[Key], new_keys: Collection[Key], pair: Callable[[Metric, Key], Row],
    one_sided: Callable[[str, str, bool], Row],
) -> list[Row]:  # fmt: skip
    """The comparison table, in its order: operations, faults, integrity; scopes by name, the aggregate last;
    a row per metric either side has (`pair`), or one row for a scope only one side has (`one_sided`)."""
    integrity = integrity_metrics(k[2] for k in (*base_keys, *new_keys) if k[0] == INTEGRITY)
    rows: list[Row] = []
    for scope_kind, metrics in ((OPERATION, OPERATION_METRICS), (FAULT, FAULT_METRICS), (INTEGRITY, integrity)):
        base_scopes = {scope for kind, scope, _ in base_keys if kind == scope_kind}
        new_scopes = {scope for kind, scope, _ in new_keys if kind == scope_kind}
        for scope in _ordered(base_scopes | new_scopes):
            if scope not in new_scopes or scope not in base_scopes:
                rows.append(one_sided(scope_kind, scope, scope in base_scopes))
                continue
            keys = [(scope_kind, scope, metric.name) for metric in metrics]
            rows += [pair(m, k) for m, k in zip(metrics, keys, strict=True) if k in base_keys or k in new_keys]
    return rows


def _ordered(scopes: set[str]) -> list[str]:
    # Locust's order: operations by name, the aggregate last.
    return sorted(scopes, key=lambda scope: (scope == AGGREGATED, scope))


def _one_sided(scope_kind: str, scope: str, baseline: Side, candidate: Side, in_baseline: bool) -> Row:
    side = baseline if in_baseline else candidate
    count = float(side.requests(scope)) if scope_kind == OPERATION else None
    return Row(
        scope_kind=scope_kind, scope=scope, metric="requests" if scope_kind == OPERATION else "present",
        baseline=count if in_baseline else None, candidate=None if in_baseline else count,
        delta=None, relative=None, interval=None, tolerance="",
        verdict=ONLY_BASELINE if in_baseline else ONLY_CANDIDATE, method="not compared",
    )  # fmt: skip


def judge(
    metric: Metric,
    scope_kind: str,
    scope: str,
    base: Figure,
    new: Figure,
    tolerances: Tolerances,
    level: float | None = None,
) -> Row:
    allowance = tolerances.allowance(metric, scope_kind, scope)
    row = functools.partial(
        Row, scope_kind=scope_kind, scope=scope, metric=metric.name, baseline=base.value, candidate=new.value,
        tolerance=allowance.describe(metric),
    )  # fmt: skip
    if base.value is None or new.value is None:
        missing = (
            "both" if base.value is None and new.value is None else ("baseline" if base.value is None else "candidate")
        )
        return row(delta=None, relative=None, interval=None, verdict=NOT_AVAILABLE, method=f"no value in {missing}")
    delta = new.value - base.value
    relative = delta / abs(base.value) if base.value else None
    level = tolerances.stats.confidence if level is None else level
    if scope_kind == FAULT:
        verdict, interval, method = _judge_fault(metric, base, new, allowance, level)
    else:
        verdict, interval, method = _judge_request(metric, base, new, allowance, level, tolerances)
    return row(delta=delta, relative=relative, interval=interval, verdict=verdict, method=method)


def _judge_request(
    metric: Metric, base: Figure, new: Figure, allowance: Allowance, level: float, tolerances: Tolerances
) -> tuple[str, tuple[float, float] | None, str]:
    """A request figure: beyond its tolerance and, where both sides have an interval, beyond zero."""
    assert base.value is not None and new.value is not None
    delta = new.value - base.value
    interval = None
    method = "exact count" if base.model == new.model == "exact count" else TOLERANCE_ONLY
    if base.has_interval and new.has_interval:
        assert base.replicates is not None and new.replicates is not None
        interval = difference_interval(base.replicates, new.replicates, delta, level)
        if interval is not None:
            method = f"{base.model} over {_bases(base.basis, new.basis)}"
    thin = thin_tail(metric, base, new, tolerances.stats.min_tail_samples)
    if thin:
        method = thin
    harm = -delta if metric.higher_is_better else delta  # > 0 means worse
    allowed = allowance.allowed(base.value)
    verdict = SAME
    if not thin and not math.isinf(allowed):
        if harm > allowed and _beyond_zero(interval, harm_sign=1.0, metric=metric):
            verdict = REGRESSED
        elif -harm > allowed and _beyond_zero(interval, harm_sign=-1.0, metric=metric):
            verdict = IMPROVED
    return verdict, interval, method


def _judge_fault(
    metric: Metric, base: Figure, new: Figure, allowance: Allowance, level: float
) -> tuple[str, tuple[float, float] | None, str]:
    """A fault figure is judged with an interval over its windows (repetitions, pooled runs); with one
    window on a side there is none, and only a change beyond the metric's wide floor is judged."""
    assert base.value is not None and new.value is not None
    delta = new.value - base.value
    harm = -delta if metric.higher_is_better else delta
    allowed = allowance.allowed(base.value)
    interval = None
    if base.has_interval and new.has_interval:
        assert base.replicates is not None and new.replicates is not None
        interval = few_units_interval(base.replicates, new.replicates, (base.windows, new.windows), delta, level)
    if interval is not None:
        verdict = SAME
        if not math.isinf(allowed):
            if harm > allowed and _beyond_zero(interval, harm_sign=1.0, metric=metric):
                verdict = REGRESSED
            elif -harm > allowed and _beyond_zero(interval, harm_sign=-1.0, metric=metric):
                verdict = IMPROVED
        return verdict, interval, f"bootstrap over {_bases(base.basis, new.basis)} (Welch t)"
    floor = WIDE_FLOORS[metric.name]
    direction = floor.direction(metric, base.value, new.value)
    few = _one_window(base, new)
    if direction and abs(harm) > allowed:
        return (
            (REGRESSED if direction > 0 else IMPROVED),
            None,
            f"{few}, beyond the wide floor ({floor.describe(metric)})",
        )
    return NOT_JUDGED, None, f"{few} (repeat the fault or pool runs)"


def _one_window(base: Figure, new: Figure) -> str:
    if not base.has_interval and not new.has_interval:
        return "one window per side"
    return "one window in the " + ("baseline" if not base.has_interval else "candidate")


def _bases(base: str, new: str) -> str:
    return base if base == new else f"{base} vs {new}"


def _beyond_zero(interval: tuple[float, float] | None, harm_sign: float, metric: Metric) -> bool:
    """True when there is no interval (tolerance decides alone) or the whole interval is on one side of 0:
    worse (harm_sign 1) or better (-1)."""
    if interval is None:
        return True
    low, high = interval
    worse_is_up = not metric.higher_is_better
    direction = harm_sign if worse_is_up else -harm_sign
    return low > 0 if direction > 0 else high < 0


def thin_tail(metric: Metric, base: Figure, new: Figure, min_tail: int) -> str:
    if metric.quantile is None or metric.quantile >= 1.0 or min_tail <= 0:
        return ""
    needed = math.ceil(min_tail / (1.0 - metric.quantile) - 1e-9)
    fewest = min(base.requests, new.requests)
    if fewest >= needed:
        return ""
    return f"not judged: {fewest} requests, {metric.name} needs >= {needed}"
