"""Change points of one row's series over releases: ruptures' KernelCPD with the linear kernel (exact PELT
search with the least-squares cost, in C: 40 rows of 200 runs in 0.04 s, where the pure-Python `Pelt`
took 14 s) on the runs' values in release order, with a penalty scaled to the series' own noise, then kept
only where the level moved by more than the metric's tolerance (a real but negligible shift is not worth a
red line).

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

# BIC-like penalty per change point: PENALTY x log(n) x noise^2. On 200 synthetic 30-run series (6 releases
# of 5, noise 6 % and 12 %), 3 gave 78 false change points on flat series, 10 gave 4, and still found the
# 2.6x step of release 4 and its end in all but one.
PENALTY = 10.0
_MAD_SD = 1.4826  # median absolute deviation -> standard deviation, for normal noise


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
    """A robust standard deviation of the runs around their own release's median; with single-run releases
    only, from the differences between neighbours (a step counts once among them)."""
    groups: dict[int, list[float]] = {}
    for value, release in zip(values, releases, strict=True):
        groups.setdefault(release, []).append(value)
    deviations = [v - statistics.median(group) for group in groups.values() if len(group) >= 2 for v in group]
    if len(deviations) >= 3:
        return _MAD_SD * statistics.median(abs(d) for d in deviations)
    if len(values) < 3:
        return 0.0
    return _MAD_SD * statistics.median(abs(b - a) for a, b in zip(values, values[1:], strict=False)) / math.sqrt(2)


def change_points(
    values: Sequence[float], releases: Sequence[int], labels: Sequence[str], metric: Metric, allowance: Allowance
) -> list[ChangePoint]:
    """`values` are runs in release order, `releases` the index (into `labels`) of each run's release."""
    if len(values) < 4:
        return []
    import ruptures  # scipy-heavy: imported only when a trend is made

    scale = max(noise(values, releases), 1e-9 * max(1.0, max(abs(v) for v in values)))
    signal = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    ends = (
        ruptures.KernelCPD(kernel="linear", min_size=2)
        .fit(signal)
        .predict(pen=PENALTY * math.log(len(values)) * scale**2)
    )
    bounds = [0, *ends]
    found = []
    for left, start, right in zip(bounds, bounds[1:], bounds[2:], strict=False):
        before, after = float(statistics.median(values[left:start])), float(statistics.median(values[start:right]))
        harm = (before - after) if metric.higher_is_better else (after - before)
        if abs(after - before) > allowance.allowed(before) and not math.isinf(allowance.allowed(before)):
            found.append(ChangePoint(labels[releases[start]], releases[start], before, after, bool(harm > 0)))
    return found
