"""Change points of one row's series over releases: ruptures' KernelCPD with the linear kernel (exact PELT
search with the least-squares cost, in C: 40 rows of 200 runs in 0.04 s, where the pure-Python `Pelt`
took 14 s) on the release medians in release order, with a penalty scaled to the runs' own noise, then
kept only where the level moved by more than the metric's tolerance (a real but negligible shift is not
worth a red line).

Why ruptures: it needs only numpy and scipy (Apache Otava pins numpy 2.2 and pulls in BigQuery, Slack and
Postgres clients; signal-processing-algorithms needs numpy < 2), its PELT is exact on a short series, and
the penalty is ours to set from the noise instead of a permutation test that few points cannot pass.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brownout.compare.metrics import Metric
from brownout.compare.tolerance import Allowance

# BIC-like penalty per change point: PENALTY x log(releases) x (noise of a release median)^2. On 200 synthetic
# series of 6 releases (noise 6 % and 12 %; release 4 2.6x slower, 5 restored) with 5 runs per release, 5
# gave 0 false change points on flat series and found both changes in all; with 3 runs, 4 false and none
# missed (10: 1 false, 8 missed); with 1 run, 9 false and 74 of 400 changes missed (a single run per
# release cannot show its noise).
PENALTY = 5.0
_MAD_SD = 1.4826  # median absolute deviation -> standard deviation, for normal noise
_MEDIAN_SD = 1.2533  # sd of a median / sd of a mean, for normal noise


@dataclass(frozen=True)
class ChangePoint:
    release: str  # where the new level starts
    index: int  # of that release in the store's order
    before: float  # median of the runs since the previous change point
    after: float  # median of the runs up to the next one
    worse: bool

    @property
    def relative(self) -> float | None:
        return (self.after - self.before) / abs(self.before) if self.before else None


def noise(values: Sequence[float], releases: Sequence[int]) -> float:
    """The runs' standard deviation around their own release's mean, pooled over the releases of two runs or
    more (unbiased: a median-based spread of three runs is 0 a third of the time); with single-run releases
    only, from the differences between neighbours (robustly: a step counts once among them)."""
    groups: dict[int, list[float]] = {}
    for value, release in zip(values, releases, strict=True):
        groups.setdefault(release, []).append(value)
    several = [group for group in groups.values() if len(group) >= 2]
    freedom = sum(len(group) - 1 for group in several)
    if freedom >= 2:
        return math.sqrt(sum((len(g) - 1) * statistics.variance(g) for g in several) / freedom)
    if len(values) < 3:
        return 0.0
    return _MAD_SD * statistics.median(abs(b - a) for a, b in zip(values, values[1:], strict=False)) / math.sqrt(2)


def change_points(
    values: Sequence[float], releases: Sequence[int], labels: Sequence[str], metric: Metric, allowance: Allowance
) -> list[ChangePoint]:
    """`values` are runs in release order, `releases` the index (into `labels`) of each run's release. The
    search runs on the release medians, so a change can only start at a release: a machine that got busier
    halfway through a release's runs is not a change of release."""
    groups: dict[int, list[float]] = {}
    for value, release in zip(values, releases, strict=True):
        groups.setdefault(release, []).append(value)
    order = sorted(groups)
    if len(order) < 3:
        return []
    import ruptures  # scipy-heavy: imported only when a trend is made

    medians = np.array([statistics.median(groups[r]) for r in order], dtype=np.float64)
    runs = statistics.median(len(group) for group in groups.values())
    # The noise of a median of m runs: the runs' noise x 1.2533 / sqrt(m) (for normal noise).
    scale = noise(values, releases) * _MEDIAN_SD / math.sqrt(runs)
    scale = max(scale, 1e-9 * max(1.0, float(np.abs(medians).max())))
    pen = PENALTY * math.log(len(order)) * scale**2
    ends = ruptures.KernelCPD(kernel="linear", min_size=1).fit(medians.reshape(-1, 1)).predict(pen=pen)
    bounds = [0, *ends]
    found = []
    for left, start, right in zip(bounds, bounds[1:], bounds[2:], strict=False):
        before = float(statistics.median(v for r in order[left:start] for v in groups[r]))
        after = float(statistics.median(v for r in order[start:right] for v in groups[r]))
        harm = (before - after) if metric.higher_is_better else (after - before)
        if abs(after - before) > allowance.allowed(before) and not math.isinf(allowance.allowed(before)):
            found.append(ChangePoint(labels[order[start]], order[start], before, after, bool(harm > 0)))
    return found
