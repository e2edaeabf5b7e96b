"""The chart's re-binning (vectorised) equals adding buckets up one by one."""

import random

from brownout.history import LatencyHistogram, Timeline, TimelineRow
from brownout.history.histogram import merge_groups
from brownout.report.charts import rebin


def test_rebinned_throughput_errors_and_p95_equal_one_by_one_sums():
    rng = random.Random(8)
    rows = [
        TimelineRow(
            100.0 + i * 0.25, "GET", "/a", rng.randrange(9), 0, rng.randrange(3),
            LatencyHistogram.of(rng.expovariate(1 / 60) for _ in range(rng.randrange(0, 12))),
        )
        for i in range(700)
        if rng.random() < 0.9
    ]  # fmt: skip
    series = Timeline.from_rows(rows, 0.25).series["GET /a"]
    run_start, width, bins = 102.0, 1.5, 110  # buckets before the start and after the last bin clamp
    groups = [min(bins - 1, max(0, int((t - run_start) / width))) for t in series.times]
    totals, failed = [0] * bins, [0] * bins
    for i, group in enumerate(groups):
        totals[group] += series.total_at(i)
        failed[group] += series.failed[i]
    p95 = [h.percentile(0.95) for h in merge_groups(series.hists, groups, bins)]
    binned = rebin(series, run_start, width, bins)
    assert binned.rps == [total / width for total in totals]
    assert binned.error_ratio == [f / t if t else None for f, t in zip(failed, totals, strict=True)]
    assert binned.p95_ms == [None if p is None else float(p) for p in p95]
    assert binned.x[:2] == [0.75, 2.25]
