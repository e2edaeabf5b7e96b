"""The in-memory timeline index: merging rows, windows by bucket midpoint, vectorised merges."""

import random

from brownout.history import LatencyHistogram, Timeline, TimelineRow
from brownout.history.histogram import merge_groups


def test_vectorised_group_merge_equals_merging_one_by_one():
    rng = random.Random(5)
    hists = [
        LatencyHistogram.of(rng.expovariate(1 / 80) for _ in range(rng.randint(0, 40))) for _ in range(300)
    ]
    groups = [rng.randrange(7) for _ in hists]
    expected = [LatencyHistogram() for _ in range(7)]
    for hist, group in zip(hists, groups, strict=True):
        expected[group].merge(hist)
    assert merge_groups(hists, groups, 7) == expected
    assert [h.count for h in merge_groups(hists, groups, 7)] == [h.count for h in expected]
    assert LatencyHistogram.merged(hists) == LatencyHistogram.merged(expected)


def test_rows_of_one_bucket_merge_in_any_order_and_windows_take_buckets_by_midpoint():
    rows = [
        TimelineRow(1.0, "GET", "/a", 1, 0, 0, LatencyHistogram({10: 1})),
        TimelineRow(0.0, "GET", "/a", 2, 0, 1, LatencyHistogram({20: 3})),
        TimelineRow(1.0, "GET", "/a", 0, 1, 0, LatencyHistogram({30: 1})),
        TimelineRow(1.0, "POST", "/b", 5, 0, 0, LatencyHistogram({40: 5})),
    ]
    timeline = Timeline.from_rows(rows, bucket_s=1.0)
    series = timeline.series["GET /a"]
    assert series.times == [0.0, 1.0] and series.ok == [2, 1] and series.degraded == [0, 1]
    assert series.hists[1] == LatencyHistogram({10: 1, 30: 1})
    assert timeline.window(0.6, 2.0, "GET /a").total == 2  # bucket 0's midpoint 0.5 is outside
    assert timeline.window(0.4, 2.0, "GET /a").total == 5
    merged = timeline.all_operations()
    assert merged.times == [0.0, 1.0] and merged.ok == [2, 6] and merged.failed == [1, 0]
    assert merged.hists[1] == LatencyHistogram({10: 1, 30: 1, 40: 5})
    assert timeline.span == (0.0, 2.0)
