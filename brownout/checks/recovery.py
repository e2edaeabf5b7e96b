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
- Censoring: the search ends where the run ends or the next episode starts. A recovery that could only be
  seen at `t` needs [t, t + sustain) inside that, so the time observed is (end - heal - sustain). No
  recovery seen, and that time shorter than the target: "censored", unknown (an info alert, never a
  critical one), with the figures ("observed 5.0 s of the 30 s allowed: the run ended"). No recovery
  seen over the whole target: "not recovered", a fail.
- Upper bound: when no request at all started between the heal and the recovered bucket, over a second
  later (a sparse operation, e.g. one made only when a user starts), it may have recovered at any time before:
  the time is shown as "<= x s" and is never compared as a measured time (within its target when x is,
  else unknown).
- Operations named in `setup_operations` are left out (per operation and in the all-operations series).
- An operation with fewer than `recovery_min_requests` requests after the heal is "no traffic" (not judged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brownout.checks.criteria import Criteria
from brownout.checks.findings import Findings
from brownout.checks.result import Alert, AlertLevel, CheckResult, Status
from brownout.checks.windows import Episode, fault_windows, run_span
from brownout.checks.windows import episodes as group_episodes
from brownout.history import ALL_OPERATIONS, History, LatencyHistogram, OperationSeries, Timeline

RECOVERED, NOT_RECOVERED, NO_TRAFFIC, NOT_HEALED = "recovered", "not recovered", "no traffic", "not healed"
CENSORED = "censored"
# A silence after the heal shorter than this is within the timeline's resolution, not a sparse operation.
_SILENCE_S = 1.0


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
    status: str  # recovered | not recovered | censored | no traffic | not healed
    recovery_s: float | None
    band: Band | None
    why: str = ""
    observed_s: float | None = None  # how long after the heal a recovery could have been seen
    upper_bound: bool = False  # recovery_s is only an upper bound (no request between heal and recovery)

    def within(self, target_s: float) -> bool | None:
        """Whether it recovered within `target_s`: None when the evidence cannot say."""
        if self.status == RECOVERED and self.recovery_s is not None:
            if self.recovery_s <= target_s:
                return True
            return None if self.upper_bound else False
        if self.status in (NOT_RECOVERED, NOT_HEALED):
            return False
        return None  # censored, no traffic

    def shown(self) -> str:
        if self.status != RECOVERED or self.recovery_s is None:
            return self.status
        return f"{'≤ ' if self.upper_bound else ''}{self.recovery_s:.1f} s"


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
    series: OperationSeries, operation: str, episode: Episode, context: _Context, criteria: Criteria,
    target_s: float,
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
    observed = max(0.0, search_end - heal - criteria.recovery_sustain_s)
    found = find_recovery(series, heal, search_end, band, criteria)
    if found is None:
        cause = context.cut_by(episode)
        if observed < target_s:
            why = f"observed {observed:.1f} s of the {target_s:g} s allowed: {cause}"
            return Recovery(CENSORED, None, band, why, observed)
        return Recovery(NOT_RECOVERED, None, band, f"not back in its band within {observed:.1f} s", observed)
    silent = found > _SILENCE_S and not any(series.total_at(i) for i in series.index_range(heal, heal + found))
    why = "the first request after the heal" if silent else ""
    return Recovery(RECOVERED, found, band, why, observed, upper_bound=silent)


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

    def cut_by(self, episode: Episode) -> str:
        following = self.next_episode(episode)
        return "the run ended" if following is None else f"{following.labels[0]} started"

    def baseline_for(self, episode: Episode) -> tuple[float, float]:
        index = self._index(episode)
        floor = self.episodes[index - 1].end if index else self.run_start
        return max(episode.start - self.window_s, floor, self.run_start), episode.start

    def search_end_after(self, episode: Episode) -> float:
        following = self.next_episode(episode)
        return following.start if following is not None else self.run_end


def _figures(recovery: Recovery, target_s: float) -> dict[str, Any]:
    return {
        "status": recovery.status,
        "recovery_s": recovery.recovery_s,
        "bound": "upper" if recovery.upper_bound else None,
        "shown": recovery.shown(),
        "why": recovery.why,
        "observed_s": recovery.observed_s,
        "target_s": target_s,
        "within_target": recovery.within(target_s),
        "band": recovery.band.to_json() if recovery.band else None,
    }


def judged_timeline(history: History, criteria: Criteria) -> Timeline:
    """The timeline without the operations the scenario marks as setup-only."""
    return history.timeline.without(criteria.setup_among(history.timeline.operations))


class _Pairs:
    """(fault, operation) pairs whose recovery could be judged, and how many were within their targets."""

    def __init__(self) -> None:
        self.judged = self.within = 0

    def count(self, per_operation: dict[str, dict[str, Any]]) -> None:
        for figures in per_operation.values():
            if figures["within_target"] is not None:
                self.judged += 1
                self.within += 1 if figures["within_target"] else 0

    @property
    def share(self) -> float | None:
        return self.within / self.judged if self.judged else None

    def judge(self, findings: Findings, minimum: float) -> None:
        share = self.share
        if share is None:
            findings.unknown("no (fault, operation) pair could be judged after its heal")
        elif share < minimum:
            findings.fail(
                f"{self.within}/{self.judged} (fault, operation) pairs recovered within their targets "
                f"({share:.0%} < {minimum:.0%})"
            )


def _episode_rows(
    episode: Episode, context: _Context, timeline: Timeline, criteria: Criteria, findings: Findings,
    pairs: _Pairs,
) -> list[dict[str, Any]]:
    limit = criteria.episode_recovery_max_s(window.fault.name for window in episode.faults)
    overall = _measure(timeline.all_operations(), ALL_OPERATIONS, episode, context, criteria, limit)
    per_operation = {}
    for op in timeline.operations:
        target = criteria.recovery_target_s(op)
        per_operation[op] = _figures(_measure(timeline.series[op], op, episode, context, criteria, target), target)
    rows = []
    for window in episode.faults:
        status = _judge_fault(window.label, overall, episode.heal, limit, criteria, findings)
        pairs.count(per_operation)
        rows.append(
            {
                "fault": window.label,
                "start": window.start,
                "heal": window.heal,
                "episode": episode.labels,
                "status": str(status),
                "overall": _figures(overall, limit),
                "operations": per_operation,
            }
        )
    return rows


def check_recovery(history: History, criteria: Criteria) -> CheckResult:
    windows = fault_windows(history)
    if not windows:
        return CheckResult("recovery", Status.PASS, "no faults were injected: nothing to recover from")
    episodes = group_episodes(windows)
    context = _Context(history, episodes, criteria)
    timeline = judged_timeline(history, criteria)
    findings, pairs = Findings(), _Pairs()
    faults = [
        row for episode in episodes for row in _episode_rows(episode, context, timeline, criteria, findings, pairs)
    ]
    pairs.judge(findings, criteria.recovery_pairs_within_target_min)
    measured = [f["overall"] for f in faults if f["overall"]["recovery_s"] is not None]
    slowest = max(measured, key=lambda f: f["recovery_s"], default=None)
    censored = sum(1 for f in faults if f["overall"]["status"] == CENSORED)
    # Say what the figure covers: all operations together, measured recoveries only (the tables show the rest).
    unmeasured = len(faults) - len(measured)
    summary = (
        f"{len(faults)} fault(s); "
        + (f"slowest all-operations recovery {slowest['shown']} (max {slowest['target_s']:g} s)" if slowest
           else "no recovery measured")
        + (f", {unmeasured} not measured" if slowest and unmeasured else "")
        + (f" ({censored} not observed long enough)" if censored else "")
        + f"; {pairs.within}/{pairs.judged} pairs within target"
    )  # fmt: skip
    figures = {
        "faults": faults,
        "pairs_judged": pairs.judged,
        "pairs_within_target": pairs.within,
        "pairs_within_share": pairs.share,
    }
    return findings.result("recovery", summary, figures)


def _judge_fault(
    label: str, overall: Recovery, at: float | None, target: float, criteria: Criteria, findings: Findings
) -> Status:
    if overall.status == NO_TRAFFIC:
        return findings.unknown(
            f"{label}: no requests after the heal, recovery cannot be judged",
            Alert(AlertLevel.INFO, at, label, "recovery unknown: no traffic after the heal"),
        )
    if overall.status == CENSORED:
        return findings.unknown(
            f"{label}: recovery not seen ({overall.why})",
            Alert(AlertLevel.INFO, at, label, f"recovery not observed: {overall.why}"),
        )
    if overall.status in (NOT_HEALED, NOT_RECOVERED) or overall.recovery_s is None:
        return findings.fail(
            f"{label}: {overall.status} ({overall.why})",
            Alert(AlertLevel.CRITICAL, at, label, f"{overall.status}: {overall.why}"),
        )
    seconds = overall.recovery_s
    if overall.upper_bound:
        alert = Alert(AlertLevel.INFO, at, label, f"recovered in {overall.shown()} ({overall.why})")
        if seconds <= target:
            return findings.passed(alert)
        return findings.unknown(f"{label}: recovery {overall.shown()}, only an upper bound above {target:g} s", alert)
    level = AlertLevel.CRITICAL if seconds > criteria.alert_critical_recovery_s else AlertLevel.INFO
    alert = Alert(level, at, label, f"recovered in {seconds:.1f} s")
    if seconds > target:
        return findings.fail(f"{label}: recovery {seconds:.1f} s > {target:g} s", alert)
    return findings.passed(alert)


def fault_effects(history: History, criteria: Criteria) -> list[tuple[float, float]]:
    """Each episode from its start until the service was back in its band (all operations together): to the
    heal plus the recovery measured; to the next episode or the end of the run when it was not seen back;
    to the end of the window when there is nothing to measure. What the load check leaves out of capacity."""
    episodes = group_episodes(fault_windows(history))
    context = _Context(history, episodes, criteria)
    series = judged_timeline(history, criteria).all_operations()
    effects = []
    for episode in episodes:
        limit = criteria.episode_recovery_max_s(window.fault.name for window in episode.faults)
        found = _measure(series, ALL_OPERATIONS, episode, context, criteria, limit)
        end = episode.end
        if found.status == RECOVERED and found.recovery_s is not None and episode.heal is not None:
            end = episode.heal + found.recovery_s
        elif found.status in (NOT_RECOVERED, CENSORED):
            end = context.search_end_after(episode)
        effects.append((episode.start, max(end, episode.end)))
    return effects
