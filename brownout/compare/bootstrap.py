"""Seeded bootstrap helpers: resampling weights, Locust-exact percentiles of many histograms at once, and
the confidence interval of a difference. Everything is vectorised with numpy so an hour of 0.25 s buckets
resamples in well under a second."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def generator(seed: int, *parts: str) -> np.random.Generator:
    """A generator seeded by the settings' seed and the row it serves, so output is reproducible and does
    not depend on the order rows are computed in; the two sides get different parts, hence streams."""
    return np.random.default_rng([seed, zlib.crc32("|".join(parts).encode("utf-8"))])


def resampling_weights(rng: np.random.Generator, units: int, replicates: int) -> FloatArray:
    """How many times each of `units` (blocks, runs, intervals) is drawn in each replicate: a
    (replicates x units) matrix whose rows each sum to `units`."""
    return rng.multinomial(units, np.full(units, 1.0 / units), size=replicates).astype(np.float64)


def histogram_quantiles(counts: FloatArray, keys: FloatArray, quantiles: Sequence[float]) -> list[FloatArray]:
    """Locust's percentile (`calculate_response_time_percentile`) of each row of `counts` (rows x keys,
    keys ascending, integer-valued) for each quantile, sharing one cumulative sum: the largest key with
    count > 0 such that at most int(total * q) requests are below it. NaN for empty rows.

    Requests below key j never decrease with j, so the keys with at most `wanted` requests below them are
    a prefix; its last key J has a positive count unless J is the last column (a zero count at J would
    put J + 1 in the prefix too), so the answer is min(J, the last key with a positive count)."""
    rows, width = counts.shape
    if width == 0:
        return [np.full(rows, np.nan) for _ in quantiles]
    below = np.cumsum(counts, axis=1)
    totals = below[:, -1].copy()
    below -= counts  # requests below each key; exact, as sums of integer-valued floats below 2**53
    last_present = _last_present(counts)
    empty = totals <= 0
    results = []
    for quantile in quantiles:
        wanted = np.floor(totals * quantile)  # int(total * q), as Locust computes it
        prefix = np.count_nonzero(below <= wanted[:, None], axis=1)
        result = keys[np.minimum(prefix - 1, last_present)].astype(np.float64)
        result[empty] = np.nan
        results.append(result)
    return results


def histogram_percentiles(counts: FloatArray, keys: FloatArray, quantile: float) -> FloatArray:
    """`histogram_quantiles` for one quantile."""
    return histogram_quantiles(counts, keys, (quantile,))[0]


def histogram_max(counts: FloatArray, keys: FloatArray) -> FloatArray:
    rows, width = counts.shape
    if width == 0:
        return np.full(rows, np.nan)
    result = keys[_last_present(counts)].astype(np.float64)
    result[~(counts > 0).any(axis=1)] = np.nan
    return result


def _last_present(counts: FloatArray) -> npt.NDArray[np.intp]:
    """Each row's last column with a positive count (the last column for an empty row)."""
    present = counts > 0
    return counts.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)


def ratio(numerators: FloatArray, denominators: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominators > 0, numerators / np.where(denominators > 0, denominators, 1), np.nan)


def difference_interval(
    baseline: FloatArray, candidate: FloatArray, delta: float, level: float
) -> tuple[float, float] | None:
    """Interval of candidate - baseline at `level`: the point delta +- z x the bootstrap standard error of
    the difference (replicates of the two sides are independent, paired by index). A normal interval
    rather than percentiles of the replicates, because the level is family-wise adjusted and can ask for
    tails far thinner than a thousand replicates resolve."""
    deltas = candidate - baseline
    deltas = deltas[np.isfinite(deltas)]
    if deltas.size < 20:
        return None
    half = NormalDist().inv_cdf(0.5 + level / 2) * float(deltas.std(ddof=1))
    return delta - half, delta + half


def student_t_quantile(probability: float, df: float) -> float:
    """Student's t quantile (probability in 0.5..1) for df >= 1, without scipy: with x = sqrt(df) tan(u)
    the upper tail is c * integral of cos(u)^(df-1) from u to pi/2, a smooth bounded integrand; integrate
    it on a fine grid and interpolate. Accurate to ~1e-4 relative, plenty for an interval's width."""
    df = max(1.0, float(df))
    if df > 1000:
        return NormalDist().inv_cdf(probability)
    grid = np.linspace(0.0, np.pi / 2, 20_001)
    density = np.cos(grid) ** (df - 1.0)
    # Upper tail at each grid point, by the trapezoid rule from pi/2 downwards.
    steps = (density[1:] + density[:-1]) / 2 * np.diff(grid)
    tail = np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])
    scale = np.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(math.pi)
    tail *= scale
    wanted = 1.0 - probability
    # tail decreases along the grid; interpolate on the reversed (increasing) arrays.
    angle = float(np.interp(wanted, tail[::-1], grid[::-1]))
    return math.sqrt(df) * math.tan(angle)


def few_units_interval(
    baseline: FloatArray, candidate: FloatArray, units: tuple[int, int], delta: float, level: float
) -> tuple[float, float] | None:
    """Interval of candidate - baseline when each side resampled only a few units (fault windows): the
    bootstrap variance of a mean of n units is (n-1)/n of the usual estimate, and its normal interval is
    too narrow for five windows; so each side's bootstrap variance is scaled by n/(n-1) and the quantile
    is Welch's t instead of the normal one."""
    base_n, new_n = units
    if base_n < 2 or new_n < 2:
        return None
    variances = []
    for replicates, n in ((baseline, base_n), (candidate, new_n)):
        finite = replicates[np.isfinite(replicates)]
        if finite.size < 20:
            return None
        variances.append(float(finite.var(ddof=1)) * n / (n - 1))
    total = variances[0] + variances[1]
    if total <= 0:
        return delta, delta
    df = total**2 / (variances[0] ** 2 / (base_n - 1) + variances[1] ** 2 / (new_n - 1))
    half = student_t_quantile(0.5 + level / 2, df) * math.sqrt(total)
    return delta - half, delta + half
