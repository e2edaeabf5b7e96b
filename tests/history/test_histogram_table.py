"""The columnar histogram table answers exactly what LatencyHistogram's dict arithmetic answers."""

import random

import numpy as np
import pytest

from brownout.history import LatencyHistogram, Timeline, TimelineRow
from brownout.history import columns as columns_module
from brownout.history.columns import HistogramTable, stack
from brownout.history.histogram import merge_groups

QUANTILES = (0.0, 0.5, 0.95, 0.99, 1.0)


def _histograms(seed: int, count: int, spread: float = 80.0) -> list[LatencyHistogram]:
    rng = random.Random(seed)
    return [
        LatencyHistogram.of(rng.expovariate(1 / spread) for _ in range(rng.choice((0, 1, 3, 40, 200))))
        for _ in range(count)
    ]


def test_rows_merges_and_percentiles_equal_the_dict_histograms():
    hists = _histograms(1, 400)
    table = HistogramTable.from_histograms(hists)
    assert table.histograms() == hists and table.row(7) == hists[7] and len(table) == 400
    expected = [h.percentile(q) for q in QUANTILES for h in hists]
    assert [p for q in QUANTILES for p in table.percentiles(q)] == expected
    rng = random.Random(2)
    for _ in range(50):
        ranges = [range(a, a + rng.randrange(0, 30)) for a in rng.sample(range(360), rng.randint(0, 3))]
        merged = LatencyHistogram.merged(hists[i] for r in ranges for i in r)
        assert table.merged(ranges) == merged and table.merged(ranges).count == merged.count
        chosen = [rng.randrange(400) for _ in range(rng.randrange(0, 60))]
        assert table.merged_rows(chosen) == LatencyHistogram.merged(hists[i] for i in chosen)
    with pytest.raises(ValueError, match="within 0..1"):
        table.percentiles(1.5)


@pytest.mark.parametrize("dense_cells", [0, 10**9])  # the sorting path and the dense-sum path
def test_grouped_sums_equal_merge_groups_on_either_path(monkeypatch, dense_cells):
    monkeypatch.setattr(columns_module, "_DENSE_CELLS", dense_cells)
    hists = _histograms(3, 300)
    groups = [random.Random(4).randrange(9) for _ in hists]
    table = HistogramTable.from_histograms(hists).grouped(np.array(groups), 9)
    assert table.histograms() == merge_groups(hists, groups, 9)
    assert table.percentiles(0.95) == [h.percentile(0.95) for h in merge_groups(hists, groups, 9)]
    # tables over different keys stack onto the union of their keys
    other = _histograms(5, 50, spread=3000.0)
    both = stack(
        [HistogramTable.from_histograms(hists), HistogramTable.from_histograms(other)],
        [np.array(groups), np.zeros(50, dtype=np.int64)],
        9,
    )
    assert both.histograms() == merge_groups([*hists, *other], [*groups, *[0] * 50], 9)



@pytest.mark.parametrize("block_cells", [1, 50, 10**9])  # a group per block, a few groups per block, one block
def test_groups_in_order_are_summed_a_block_at_a_time_exactly(monkeypatch, block_cells):
    monkeypatch.setattr(columns_module, "_BLOCK_CELLS", block_cells)
    monkeypatch.setattr(columns_module, "_TAKE_ROWS", 7)
    hists = [*_histograms(6, 200), LatencyHistogram(), *_histograms(7, 100, spread=3000.0)]
    other = _histograms(8, 60, spread=500.0)
    groups = np.sort(np.array([random.Random(9).randrange(40) for _ in hists]))  # group 39+ may be empty
    other_groups = np.arange(60) // 2
    tables = [HistogramTable.from_histograms(hists), HistogramTable.from_histograms(other)]
    both = stack(tables, [groups, other_groups], 45)
    expected = merge_groups([*hists, *other], [*groups.tolist(), *other_groups.tolist()], 45)
    assert both.histograms() == expected
    for q in QUANTILES:
        assert both.percentiles(q) == [h.percentile(q) for h in expected]
    order = np.argsort(-groups, kind="stable")
    assert tables[0].take(order).histograms() == [hists[i] for i in order.tolist()]

def test_entries_in_any_order_add_up_and_zero_counts_vanish_as_decode_does():
    cells = ["5:1 5:2 3:0 900:4", "", "7:0", "12000:1 1:1"]
    rows = [i for i, cell in enumerate(cells) for _ in cell.split()]
    pairs = [tuple(map(int, pair.split(":"))) for cell in cells for pair in cell.split()]
    order = [4, 0, 5, 2, 1, 3, 6]
    table = HistogramTable.from_entries(
        np.array([rows[i] for i in order]),
        np.array([pairs[i][0] for i in order]),
        np.array([pairs[i][1] for i in order]),
        len(cells),
    )
    assert table.histograms() == [LatencyHistogram.decode(cell) for cell in cells]
    assert list(table.lengths) == [2, 0, 0, 2]
    assert table.percentiles(0.5) == [LatencyHistogram.decode(cell).percentile(0.5) for cell in cells]
    huge = HistogramTable.from_entries(np.array([0, 0]), np.array([2**40, 3]), np.array([1, 2]), 1)
    assert huge.row(0) == LatencyHistogram({2**40: 1, 3: 2})  # keys beyond the lookup table's range


def test_series_windows_over_ranges_equal_windows_over_listed_indexes():
    rng = random.Random(6)
    rows = [
        TimelineRow(t * 0.5, "GET", "/a", rng.randrange(5), rng.randrange(2), rng.randrange(2), hist)
        for t, hist in enumerate(_histograms(7, 200))
    ]
    series = Timeline.from_rows(rows, 0.5).series["GET /a"]
    ranges = [range(3, 40), range(50, 50), range(90, 160)]
    listed = series.stats([i for r in ranges for i in r])
    assert series.stats_of_ranges(ranges) == listed
    assert series.stats(range(3, 40)) == series.stats(list(range(3, 40)))
    assert listed.buckets == sum(1 for r in ranges for i in r if series.total_at(i))
    assert series.percentiles(0.95) == [h.percentile(0.95) for h in series.hists]
    assert series.histogram_of(range(3, 40)) == LatencyHistogram.merged(series.hists[3:40])
