"""Recovery time after each fault, per operation and for all operations together.

Definition (this docstring is the reference; the report shows each band and its source):
- Baseline: the operation's error ratio and p95 in the `baseline_window_s` before the fault started, clipped
  so it never reaches back into the previous fault episode or before the run. It needs at least
  `baseline_min_requests` requests. Fallbacks, in order, when it cannot be measured (e.g. a fault at the very
  start of the run): the run's tail (the last `baseline_window_s` of the run, if all faults had healed
  by then), else the criteria targets (`fallback_error_ratio_max` and the operation's p95 target).
- Band: error ratio <= baseline + `recovery_error_ratio_margin`, degraded share <= baseline +
  `recovery_degraded_margin` (fallback answers are available but not full service: a breaker still open
  is not recovered), p95 <= baseline p95 x `recovery_p95_factor` + `recovery_p95_slack_ms`.
- Recovered at bucket b (at or after the heal) when b itself is in the band and the buckets of the sustain
  window [b, b + `recovery_sustain_s`) hold >= `recovery_min_requests` requests and are in the band together.
  For a sparse operation the window stretches (never past the next episode) until it holds that many
  requests. Empty buckets are never evidence: b must have requests.
- Recovery time = start of b - heal (0 when the service never left the band).
- Overlapping faults form one episode: baseline before its first start, recovery from its last heal.
- Not recovered (fail) when the run ends, or the next episode starts, before a sustained window is seen;
  an operation with fewer than `recovery_min_requests` requests after the heal is "no traffic" (not judged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brownout.checks.criteria import Criteria
from brownout.checks.result import Alert, AlertLevel, CheckResult, Status
from brownout.checks.windows import Episode, fault_windows, run_span
from brownout.checks.windows import episodes as group_episodes
from brownout.history import ALL_OPERATIONS, History, LatencyHistogram, OperationSeries

RECOVERED, NOT_RECOVERED, NO_TRAFFIC, NOT_HEALED = "recovered", "not recovered", "no traffic", "not healed"


@dataclass(frozen=True)
class Band:
    source: str  # pre-fault | run tail | criteria
    baseline_error_ratio: float | None
    baseline_p95_ms: float | None
    error_ratio_max: float
    p95_max_ms: float
    baseline_degraded_share: float | None = None
    degraded_share_max: float = 1.0

    def admits(self, failed: int, degraded: int, total: int, hist: LatencyHistogram) -> bool:
        return self.admits_p95(failed, degraded, total, hist.percentile(0.95))

    def admits_p95(self, failed: int, degraded: int, total: int, p95: int | None) -> bool:
        """`admits`, given the histogram's p95 (None when it is empty)."""
        if total == 0 or failed / total > self.error_ratio_max or degraded / total > self.degraded_share_max:
            return False
        return p95 is None or p95 <= self.p95_max_ms

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "baseline_error_ratio": self.baseline_error_ratio,
            "baseline_p95_ms": self.baseline_p95_ms,
            "error_ratio_max": self.error_ratio_max,
            "p95_max_ms": self.p95_max_ms,
            "baseline_degraded_share": self.baseline_degraded_share,
            "degraded_share_max": self.degraded_share_max,
        }


@dataclass(frozen=True)
class Recovery:
    status: str  # recovered | not recovered | no traffic | not healed
    recovery_s: float | None
    band: Band | None
    why: str = ""


def _band_from(
    series: OperationSeries, start: float, end: float, source: str, criteria: Criteria
) -> Band | None:
    stats = series.window(start, end)
    if end <= start or stats.total < criteria.baseline_min_requests:
        return None
    error_ratio = stats.error_ratio or 0.0
    degraded_share = stats.degraded_share or 0.0
    p95 = stats.percentile(0.95) or 0
    return Band(
        source=source,
        baseline_error_ratio=error_ratio,
        baseline_p95_ms=float(p95),
        error_ratio_max=min(1.0, error_ratio + criteria.recovery_error_ratio_margin),
        p95_max_ms=p95 * criteria.recovery_p95_factor + criteria.recovery_p95_slack_ms,
        baseline_degraded_share=degraded_share,
        degraded_share_max=min(1.0, degraded_share + criteria.recovery_degraded_margin),
    )


def baseline_band(
    series: OperationSeries,
    operation: str,
    baseline: tuple[float, float],
    tail: tuple[float, float] | None,
    criteria: Criteria,
) -> Band:
    band = _band_from(series, *baseline, "pre-fault", criteria)
    if band is None and tail is not None:
        band = _band_from(series, *tail, "run tail", criteria)
    if band is None:
        band = Band(
            "criteria", None, None, criteria.fallback_error_ratio_max, criteria.p95_target_for(operation),
            degraded_share_max=criteria.fallback_error_ratio_max,
        )
    return band


def find_recovery(
    series: OperationSeries, heal: float, search_end: float, band: Band, criteria: Criteria
) -> float | None:
    """Start of the first bucket at or after `heal` that begins a sustained in-band window; None if none."""
    sustain = criteria.recovery_sustain_s
    totals, p95s = series.totals, series.percentiles(0.95)
    for i in series.index_range(heal, search_end):
        t = series.times[i]
        if t + sustain > search_end + 1e-9:
            return None
        if not band.admits_p95(series.failed[i], series.degraded[i], totals[i], p95s[i]):
            continue
        window = _stretched(series, series.index_range(t, t + sustain), search_end, criteria.recovery_min_requests)
        requests = sum(totals[window.start : window.stop])
        if requests < criteria.recovery_min_requests:
            return None  # not enough requests left before search_end to judge any later bucket either
        failed = sum(series.failed[window.start : window.stop])
        degraded = sum(series.degraded[window.start : window.stop])
        if failed / requests > band.error_ratio_max:
            continue
        if band.admits(failed, degraded, requests, series.histogram_of(window)):
            return max(0.0, t - heal)
    return None


def _stretched(series: OperationSeries, window: range, search_end: float, min_requests: int) -> range:
    """A sustain window of a sparse operation grows (up to search_end) until it holds enough requests."""
    totals = series.totals
    stop, requests = window.stop, sum(totals[window.start : window.stop])
    while requests < min_requests and stop < len(series.times) and series.times[stop] < search_end:
        requests += totals[stop]
        stop += 1
    return range(window.start, stop)


def _measure(
    series: OperationSeries, operation: str, episode: Episode, context: _Context, criteria: Criteria
) -> Recovery:
    heal = episode.heal
    if heal is None:
        return Recovery(NOT_HEALED, None, None, "the fault was never healed")
    band = baseline_band(series, operation, context.baseline_for(episode), context.tail, criteria)
    search_end = context.search_end_after(episode)
    after_heal = sum(series.total_at(i) for i in series.index_range(heal, search_end))
    if after_heal < criteria.recovery_min_requests:
        why = "no requests after the heal" if not after_heal else f"only {after_heal} request(s) after the heal"
        return Recovery(NO_TRAFFIC, None, band, why)
    found = find_recovery(series, heal, search_end, band, criteria)
    if found is None:
        following = context.next_episode(episode)
        why = "the run ended first" if following is None else f"{following.labels[0]} started first"
        return Recovery(NOT_RECOVERED, None, band, why)
    return Recovery(RECOVERED, found, band)


class _Context:
    """Where baselines and recovery searches may look, given all episodes of the run."""

    def __init__(self, history: History, episodes: list[Episode], criteria: Criteria) -> None:
        self.run_start, self.run_end = run_span(history)
        self.episodes = episodes
        self.window_s = criteria.baseline_window_s
        last = episodes[-1] if episodes else None
        tail_start = self.run_end - self.window_s
        self.tail = (tail_start, self.run_end) if last is None or last.end <= tail_start else None

    def _index(self, episode: Episode) -> int:
        return self.episodes.index(episode)

    def next_episode(self, episode: Episode) -> Episode | None:
        index = self._index(episode) + 1
        return self.episodes[index] if index < len(self.episodes) else None

    def baseline_for(self, episode: Episode) -> tuple[float, float]:
        index = self._index(episode)
        floor = self.episodes[index - 1].end if index else self.run_start
        return max(episode.start - self.window_s, floor, self.run_start), episode.start

    def search_end_after(self, episode: Episode) -> float:
        following = self.next_episode(episode)
        return following.start if following is not None else self.run_end


def _figures(recovery: Recovery, target_s: float) -> dict[str, Any]:
    within = None if recovery.status == NO_TRAFFIC else (
        recovery.status == RECOVERED and recovery.recovery_s is not None and recovery.recovery_s <= target_s
    )  # fmt: skip
    return {
        "status": recovery.status,
        "recovery_s": recovery.recovery_s,
        "why": recovery.why,
        "target_s": target_s,
        "within_target": within,
        "band": recovery.band.to_json() if recovery.band else None,
    }


def check_recovery(history: History, criteria: Criteria) -> CheckResult:
    windows = fault_windows(history)
    if not windows:
        return CheckResult("recovery", Status.PASS, "no faults were injected: nothing to recover from")
    episodes = group_episodes(windows)
    context = _Context(history, episodes, criteria)
    timeline = history.timeline
    all_series = timeline.all_operations()
    faults: list[dict[str, Any]] = []
    reasons: list[str] = []
    alerts: list[Alert] = []
    statuses: list[Status] = []
    pairs_judged = pairs_within = 0
    for episode in episodes:
        overall = _measure(all_series, ALL_OPERATIONS, episode, context, criteria)
        per_operation = {
            op: _figures(
                _measure(timeline.series[op], op, episode, context, criteria), criteria.recovery_target_s(op)
            )
            for op in timeline.operations
        }
        for window in episode.faults:
            status, alert = _judge_fault(window.label, overall, episode, criteria, reasons)
            statuses.append(status)
            alerts.append(alert)
            for figures in per_operation.values():
                if figures["within_target"] is not None:
                    pairs_judged += 1
                    pairs_within += 1 if figures["within_target"] else 0
            faults.append(
                {
                    "fault": window.label,
                    "start": window.start,
                    "heal": window.heal,
                    "episode": episode.labels,
                    "status": str(status),
                    "overall": _figures(overall, criteria.recovery_max_s),
                    "operations": per_operation,
                }
            )
    share = pairs_within / pairs_judged if pairs_judged else None
    if share is None:
        statuses.append(Status.UNKNOWN)
        reasons.append("no (fault, operation) pair had traffic after its heal")
    elif share < criteria.recovery_pairs_within_target_min:
        statuses.append(Status.FAIL)
        reasons.append(
            f"{pairs_within}/{pairs_judged} (fault, operation) pairs recovered within their targets "
            f"({share:.0%} < {criteria.recovery_pairs_within_target_min:.0%})"
        )
    measured = [f["overall"]["recovery_s"] for f in faults if f["overall"]["recovery_s"] is not None]
    unrecovered = len(faults) - len(measured)
    # Say what the figure covers: all operations together, recovered faults only (the tables show the rest).
    slowest = f"slowest all-operations recovery {max(measured):.1f} s" if measured else "no recovery measured"
    if measured and unrecovered:
        slowest += f", {unrecovered} not measured"
    summary = (
        f"{len(faults)} fault(s); {slowest} (max {criteria.recovery_max_s:g} s); "
        f"{pairs_within}/{pairs_judged} pairs within target"
    )
    figures = {
        "faults": faults,
        "pairs_judged": pairs_judged,
        "pairs_within_target": pairs_within,
        "pairs_within_share": share,
    }
    return CheckResult("recovery", Status.worst(statuses), summary, tuple(reasons), figures, tuple(alerts))


def _judge_fault(
    label: str, overall: Recovery, episode: Episode, criteria: Criteria, reasons: list[str]
) -> tuple[Status, Alert]:
    at = episode.heal
    if overall.status == NO_TRAFFIC:
        reasons.append(f"{label}: no requests after the heal, recovery cannot be judged")
        return Status.UNKNOWN, Alert(
            AlertLevel.CRITICAL, at, label, "recovery unknown: no traffic after the heal"
        )
    if overall.status in (NOT_HEALED, NOT_RECOVERED) or overall.recovery_s is None:
        reasons.append(f"{label}: {overall.status} ({overall.why})")
        return Status.FAIL, Alert(AlertLevel.CRITICAL, at, label, f"{overall.status}: {overall.why}")
    seconds = overall.recovery_s
    level = AlertLevel.CRITICAL if seconds > criteria.alert_critical_recovery_s else AlertLevel.INFO
    alert = Alert(level, at, label, f"recovered in {seconds:.1f} s")
    if seconds > criteria.recovery_max_s:
        reasons.append(f"{label}: recovery {seconds:.1f} s > {criteria.recovery_max_s:g} s")
        return Status.FAIL, alert
    return Status.PASS, alert
