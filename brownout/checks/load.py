"""Response times under rising load: per load step (users.csv) the users, throughput, p50/p95/p99 and error
ratio, the knee, and whether each step stayed within its targets.

Faults and their recoveries are cut out of every step: each episode from its start until the service was
back in its band (brownout/checks/recovery.py `fault_effects`), so capacity is judged on time that is
neither faulted nor recovering (faults and recoveries have their own checks); a step entirely inside them
is not judged, and neither are operations named in `setup_operations`.
A step's error ratio (failed / all, outside faults) must be <= `error_ratio_max` and it needs at least one
successful request: a service that answers nothing is not fast. Each operation's p95 must be <= its target
(`p95_targets_ms`, default `p95_target_ms`), and so must the p95 of all operations together; a p95 is
judged only when `p95_min_tail_requests` (5) requests lie above it, i.e. over 100 requests in the step.
The knee is the first step whose p95 exceeds the target, or whose throughput grew by less than
`knee_min_throughput_gain` x the relative growth of users.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from brownout.checks.criteria import Criteria
from brownout.checks.recovery import fault_effects
from brownout.checks.result import CheckResult, Status
from brownout.checks.windows import run_span
from brownout.history import ALL_OPERATIONS, History, OperationSeries, Timeline, WindowStats


@dataclass(frozen=True)
class Step:
    index: int
    start: float
    end: float
    users: int


def load_steps(history: History) -> list[Step]:
    """Consecutive users.csv rows with the same step index form a step; it ends where the next one starts."""
    _, run_end = run_span(history)
    rows = sorted(history.users, key=lambda r: r.t)
    groups: list[list[Any]] = []
    for row in rows:
        if groups and groups[-1][0] == row.step:
            groups[-1][2] = max(groups[-1][2], row.users)
        else:
            groups.append([row.step, row.t, row.users])
    steps = []
    for i, (index, start, users) in enumerate(groups):
        end = groups[i + 1][1] if i + 1 < len(groups) else max(run_end, start)
        steps.append(Step(index, start, end, users))
    return steps


def _subtract(start: float, end: float, holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    pieces, cursor = [], start
    for hole_start, hole_end in sorted(holes):
        if hole_end <= cursor or hole_start >= end:
            continue
        if hole_start > cursor:
            pieces.append((cursor, hole_start))
        cursor = max(cursor, hole_end)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _stats(series: OperationSeries, pieces: list[tuple[float, float]]) -> WindowStats:
    return series.stats_of_ranges(series.index_range(start, end) for start, end in pieces)


def _step_figures(stats: WindowStats, seconds: float) -> dict[str, Any]:
    return {
        "requests": stats.total,
        "rps": stats.total / seconds if seconds > 0 else None,
        "p50_ms": stats.percentile(0.50),
        "p95_ms": stats.percentile(0.95),
        "p99_ms": stats.percentile(0.99),
        "error_ratio": stats.error_ratio,
    }


def _is_knee(step: dict[str, Any], previous: dict[str, Any] | None, criteria: Criteria) -> str | None:
    p95 = step["p95_ms"]
    if p95 is not None and p95 > criteria.p95_target_ms:
        return f"p95 {p95} ms > {criteria.p95_target_ms:g} ms"
    if previous is None or not previous["rps"] or step["users"] <= previous["users"] or not previous["users"]:
        return None
    users_growth = step["users"] / previous["users"] - 1
    rps_growth = (step["rps"] or 0.0) / previous["rps"] - 1
    if rps_growth < criteria.knee_min_throughput_gain * users_growth:
        return f"throughput grew {rps_growth:+.0%} for {users_growth:+.0%} users"
    return None


def _outward(start: float, end: float, bucket_s: float) -> tuple[float, float]:
    """A fault window grown to whole buckets: a bucket that saw any of a fault is not fault-free time
    (a request the fault slowed, filed under a bucket that began just before it, is not capacity data)."""
    return math.floor(start / bucket_s) * bucket_s, math.ceil(end / bucket_s) * bucket_s


def _breaches(row: dict[str, Any], overall: WindowStats, criteria: Criteria) -> list[str]:
    """What keeps a judged step from passing: errors first (a step of failures is never fast enough), then
    p95 of all operations, then each operation's p95."""
    found = []
    if overall.total and not overall.ok + overall.degraded:
        found.append(f"no successful request ({overall.total} failed)")
    elif overall.error_ratio is not None and overall.error_ratio > criteria.error_ratio_max:
        found.append(f"error ratio {overall.error_ratio:.1%} > {criteria.error_ratio_max:.0%} outside faults")
    if _p95_judged(row, criteria) and row["p95_ms"] > criteria.p95_target_ms:
        found.append(f"all operations p95 {row['p95_ms']} ms > {criteria.p95_target_ms:g} ms")
    for op, figures in row["operations"].items():
        if _p95_judged(figures, criteria) and figures["p95_ms"] > figures["p95_target_ms"]:
            found.append(f"{op} p95 {figures['p95_ms']} ms > {figures['p95_target_ms']:g} ms")
    return found


def _p95_judged(figures: dict[str, Any], criteria: Criteria) -> bool:
    """Enough requests for a p95 to say something: `p95_min_tail_requests` of them above it."""
    enough = figures["requests"] * 0.05 >= criteria.p95_min_tail_requests - 1e-9
    figures["p95_judged"] = enough
    return enough and figures["p95_ms"] is not None


def _step_row(step: Step, timeline: Timeline, holes: list[tuple[float, float]], criteria: Criteria) -> dict[str, Any]:
    pieces = _subtract(step.start, step.end, holes)
    seconds = sum(end - start for start, end in pieces)
    overall = _stats(timeline.operation(ALL_OPERATIONS), pieces)
    row: dict[str, Any] = {"step": step.index, "users": step.users, "start": step.start, "end": step.end}
    row |= {"fault_free_s": seconds, "excluded_s": step.end - step.start - seconds}
    row |= _step_figures(overall, seconds)
    row["judged"] = overall.total > 0
    operations: dict[str, dict[str, Any]] = {}
    for op in timeline.operations:
        figures = _step_figures(_stats(timeline.series[op], pieces), seconds)
        operations[op] = figures | {"p95_target_ms": criteria.p95_target_for(op)}
    row["operations"] = operations
    row["breaches"] = _breaches(row, overall, criteria) if row["judged"] else []
    row["within_target"] = not row["breaches"] if row["judged"] else None
    return row


def _knee(rows: list[dict[str, Any]], criteria: Criteria) -> dict[str, Any] | None:
    previous: dict[str, Any] | None = None
    for row in rows:
        if not row["judged"]:
            continue
        why = _is_knee(row, previous, criteria)
        if why is not None:
            return {"step": row["step"], "users": row["users"], "why": why}
        previous = row
    return None


def check_load(history: History, criteria: Criteria) -> CheckResult:
    steps = load_steps(history)
    if not steps:
        return CheckResult("load", Status.UNKNOWN, "users.csv has no rows", ("no load steps recorded",))
    timeline = history.timeline.without(criteria.setup_among(history.timeline.operations))
    holes = [_outward(start, end, timeline.bucket_s) for start, end in fault_effects(history, criteria)]
    rows = [_step_row(step, timeline, holes, criteria) for step in steps]
    reasons = [f"step {r['step']} ({r['users']} users): {breach}" for r in rows for breach in r["breaches"]]
    judged = [r for r in rows if r["judged"]]
    if not judged:
        status = Status.UNKNOWN
        reasons.append("no load step has fault-free traffic")
    else:
        status = Status.FAIL if reasons else Status.PASS
    knee = _knee(rows, criteria)
    knee_text = (
        "no knee" if knee is None else f"knee at step {knee['step']} ({knee['users']} users: {knee['why']})"
    )
    within = sum(1 for r in judged if r["within_target"])
    summary = f"{len(judged)}/{len(rows)} step(s) judged, {within} within target; {knee_text}"
    return CheckResult("load", status, summary, tuple(reasons), {"steps": rows, "knee": knee})
