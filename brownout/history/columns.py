"""Many sparse latency histograms in a few numpy arrays (compressed sparse rows), for the report's index.

A 1-hour timeline holds ~72k histograms; as dicts they cost ~230 MB and seconds of Python loops to merge.
Here row `i` is `keys[slots[offsets[i]:offsets[i + 1]]]` with `counts[offsets[i]:offsets[i + 1]]`, slots
ascending within a row and every count positive (the canonical form `LatencyHistogram.decode` produces), so
a window's histogram is one `bincount` and a percentile per row is a few vector operations. Results equal
`LatencyHistogram.merged(...)` and `.percentile(q)` exactly (sums are exact below 2**53 requests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from brownout.history.histogram import LatencyHistogram

IntArray = npt.NDArray[np.int64]
_DENSE_CELLS = 4_000_000  # rows x keys up to which sums go through a dense array (32 MB of float64)
_BLOCK_CELLS = 1_000_000  # groups x keys summed at a time by `stack` when the groups are in order (8 MB)
_BLOCKWISE_CELLS = 64_000_000  # beyond this many groups x keys, sorting the entries is cheaper
_TAKE_ROWS = 16_384  # rows gathered at a time by `take`


def _ints(values: Any) -> IntArray:
    return np.asarray(values, dtype=np.int64)


class HistogramTable:
    """Immutable rows of sparse histograms over one sorted key array (rounded ms)."""

    __slots__ = ("keys", "offsets", "slots", "counts")

    def __init__(self, keys: IntArray, offsets: IntArray, slots: IntArray, counts: IntArray) -> None:
        self.keys, self.offsets, self.slots, self.counts = keys, offsets, slots, counts

    @classmethod
    def empty(cls, rows: int = 0) -> HistogramTable:
        nothing = np.zeros(0, dtype=np.int64)
        return cls(nothing, np.zeros(rows + 1, dtype=np.int64), nothing, nothing)

    @classmethod
    def from_entries(
        cls, rows: IntArray, keys: IntArray, counts: IntArray, row_count: int, *, canonical: bool = False
    ) -> HistogramTable:
        """Rows from (row, key, count) entries in any order; duplicates add up and zero counts vanish, as
        in `LatencyHistogram.decode`. `canonical=True` promises rows ascending, keys ascending within a
        row, no duplicates and no zeros (then nothing is sorted)."""
        if not len(keys):
            return cls.empty(row_count)
        unique, slots = _slots(keys)
        return cls._canonical(unique, _ints(rows), slots, _ints(counts), row_count, canonical)

    @classmethod
    def from_row_lengths(
        cls, lengths: IntArray, keys: IntArray, counts: IntArray, *, canonical: bool = False
    ) -> HistogramTable:
        """As `from_entries`, the entries in row order, `lengths[i]` of them in row i (no row array: an
        hour's timeline has ~2M entries)."""
        if not canonical or not len(keys):
            rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
            return cls.from_entries(rows, keys, counts, len(lengths), canonical=canonical)
        unique, slots = _slots(keys)
        return cls(unique, np.concatenate(([0], np.cumsum(lengths))).astype(np.int64), slots, _ints(counts))

    @classmethod
    def _canonical(
        cls, keys: IntArray, rows: IntArray, slots: IntArray, counts: IntArray, row_count: int, trusted: bool
    ) -> HistogramTable:
        width = max(1, len(keys))
        if trusted:
            return cls(keys, np.searchsorted(rows, np.arange(row_count + 1)).astype(np.int64), slots, counts)
        combined = rows * width + slots
        if row_count * width <= _DENSE_CELLS:  # a dense sum is cheaper than sorting the entries
            sums = np.bincount(combined, weights=counts, minlength=row_count * width)
            combined = np.flatnonzero(sums)
            return cls._from_sorted(keys, combined, sums[combined].astype(np.int64), row_count)
        if not (len(combined) < 2 or bool(np.all(combined[1:] > combined[:-1]))):
            order = np.argsort(combined, kind="stable")
            combined, counts = combined[order], counts[order]
            starts = np.flatnonzero(np.concatenate(([True], combined[1:] != combined[:-1])))
            combined, counts = combined[starts], np.add.reduceat(counts, starts)
        if len(counts) and not bool(np.all(counts > 0)):
            positive = counts > 0
            combined, counts = combined[positive], counts[positive]
        return cls._from_sorted(keys, combined, counts, row_count)

    @classmethod
    def _from_sorted(cls, keys: IntArray, combined: IntArray, counts: IntArray, row_count: int) -> HistogramTable:
        """From ascending, distinct `row * len(keys) + slot` codes and their positive counts."""
        rows, slots = np.divmod(combined, max(1, len(keys)))
        offsets = np.searchsorted(rows, np.arange(row_count + 1)).astype(np.int64)
        return cls(keys, offsets, slots, counts)

    @classmethod
    def from_histograms(cls, histograms: Sequence[LatencyHistogram]) -> HistogramTable:
        dicts = [h.counts for h in histograms]
        lengths = np.fromiter(map(len, dicts), dtype=np.int64, count=len(dicts))
        total = int(lengths.sum())
        keys = np.fromiter(chain.from_iterable(dicts), dtype=np.int64, count=total)
        counts = np.fromiter(chain.from_iterable(d.values() for d in dicts), dtype=np.int64, count=total)
        rows = np.repeat(np.arange(len(dicts), dtype=np.int64), lengths)
        return cls.from_entries(rows, keys, counts, len(dicts))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> IntArray:
        return np.diff(self.offsets)

    def row(self, index: int) -> LatencyHistogram:
        a, b = int(self.offsets[index]), int(self.offsets[index + 1])
        return LatencyHistogram(dict(zip(self.keys[self.slots[a:b]].tolist(), self.counts[a:b].tolist(), strict=True)))

    def histograms(self) -> list[LatencyHistogram]:
        """Every row as a LatencyHistogram (for callers that want dicts; costs what the dicts cost)."""
        keys, counts, edges = self.keys[self.slots].tolist(), self.counts.tolist(), self.offsets.tolist()
        return [
            LatencyHistogram(dict(zip(keys[a:b], counts[a:b], strict=True)))
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]

    def merged(self, ranges: Iterable[range]) -> LatencyHistogram:
        """The sum of the rows in these (contiguous, step 1) index ranges."""
        pieces = [(int(self.offsets[r.start]), int(self.offsets[r.stop])) for r in ranges if len(r)]
        pieces = [(a, b) for a, b in pieces if b > a]
        if not pieces:
            return LatencyHistogram()
        if len(pieces) == 1:
            ((a, b),) = pieces
            slots, counts = self.slots[a:b], self.counts[a:b]
        else:
            slots = np.concatenate([self.slots[a:b] for a, b in pieces])
            counts = np.concatenate([self.counts[a:b] for a, b in pieces])
        return self._histogram(np.bincount(slots, weights=counts, minlength=len(self.keys)))

    def merged_rows(self, indexes: Sequence[int]) -> LatencyHistogram:
        """The sum of arbitrary rows (in any order, repeats count twice)."""
        taken = self.take(_ints(indexes))
        return self._histogram(np.bincount(taken.slots, weights=taken.counts, minlength=len(self.keys)))

    def _histogram(self, sums: npt.NDArray[Any]) -> LatencyHistogram:
        present = np.flatnonzero(sums)
        return LatencyHistogram(
            dict(zip(self.keys[present].tolist(), sums[present].astype(np.int64).tolist(), strict=True))
        )

    def take(self, indexes: IntArray) -> HistogramTable:
        """These rows, in this order, as a new table over the same keys."""
        starts, lengths = self.offsets[indexes], self.offsets[indexes + 1] - self.offsets[indexes]
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        total = int(offsets[-1])
        slots, counts = np.empty(total, dtype=self.slots.dtype), np.empty(total, dtype=self.counts.dtype)
        # A block of rows at a time: the entries' positions (one int64 per entry) never exist all at once.
        for first in range(0, len(indexes), _TAKE_ROWS):
            last = min(first + _TAKE_ROWS, len(indexes))
            a, b = int(offsets[first]), int(offsets[last])
            shift = starts[first:last] - offsets[first:last]
            positions = np.repeat(shift, lengths[first:last]) + np.arange(a, b, dtype=np.int64)
            slots[a:b], counts[a:b] = self.slots[positions], self.counts[positions]
        return HistogramTable(self.keys, offsets, slots, counts)

    def slice(self, start: int, stop: int) -> HistogramTable:
        """Rows start..stop-1 (views, no copy)."""
        a, b = int(self.offsets[start]), int(self.offsets[stop])
        return HistogramTable(self.keys, self.offsets[start : stop + 1] - a, self.slots[a:b], self.counts[a:b])

    def on_keys(self, keys: IntArray) -> HistogramTable:
        """The same rows over a superset of this table's keys."""
        if len(keys) == len(self.keys) and bool(np.array_equal(keys, self.keys)):
            return self
        remap = np.searchsorted(keys, self.keys).astype(np.int64)
        return HistogramTable(keys, self.offsets, remap[self.slots], self.counts)

    def grouped(self, groups: IntArray, group_count: int) -> HistogramTable:
        """Rows summed by group: row i goes into group groups[i] (0 <= group < group_count)."""
        return stack([self], [groups], group_count)

    def percentiles(self, q: float) -> list[int | None]:
        """`LatencyHistogram.percentile(q)` of every row (None for an empty row), vectorised."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"percentile must be within 0..1, got {q}")
        row_count = len(self)
        if not len(self.counts):
            return [None] * row_count
        cumulative = np.concatenate(([0], np.cumsum(self.counts)))  # requests before each entry
        starts, ends = self.offsets[:-1], self.offsets[1:]
        totals = cumulative[ends] - cumulative[starts]
        wanted = np.floor(totals.astype(np.float64) * q).astype(np.int64)  # int(total * q), as Locust has it
        # Keys from the largest down; the answer is the first whose requests above it are <= wanted, i.e.
        # the largest key of the row with at most `wanted` of the row's requests below it. Requests below
        # grow with the entry (counts are positive), so one search per row finds it, without per-entry arrays.
        below_or_at = np.searchsorted(cumulative[:-1], cumulative[starts] + wanted, side="right")
        within = np.minimum(below_or_at, ends) - starts
        last = starts + np.maximum(within, 1) - 1
        found = self.keys[self.slots[np.minimum(last, max(0, len(self.slots) - 1))]].tolist()
        return [key if total else None for key, total in zip(found, totals.tolist(), strict=True)]


def _slots(keys: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct keys, ascending, and each key's index among them."""
    if int(keys.min()) >= 0 and int(keys.max()) < 2**20:  # a lookup table (<= 8 MB) beats sorting
        present = np.zeros(int(keys.max()) + 1, dtype=bool)
        present[keys] = True
        lookup = np.cumsum(present, dtype=np.int64) - 1
        return np.flatnonzero(present).astype(np.int64), lookup[keys]
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, inverse.astype(np.int64).reshape(-1)


def stack(tables: Sequence[HistogramTable], groups: Sequence[IntArray], group_count: int) -> HistogramTable:
    """Rows of several tables summed by group (groups[t][i]: the group of row i of table t)."""
    if not tables:
        return HistogramTable.empty(group_count)
    shared = all(t.keys is tables[0].keys for t in tables)  # tables cut from one file share their keys
    keys = _ints(tables[0].keys if shared else np.unique(np.concatenate([t.keys for t in tables])))
    if not len(keys):
        return HistogramTable.empty(group_count)
    on_keys = [t.on_keys(keys) for t in tables]
    if group_count * len(keys) <= _BLOCKWISE_CELLS and all(_ascending(g) for g in groups):
        return _stack_blockwise(on_keys, [_ints(g) for g in groups], group_count, keys)
    rows = np.concatenate([np.repeat(_ints(g), t.lengths) for t, g in zip(on_keys, groups, strict=True)])
    slots = np.concatenate([t.slots for t in on_keys]).astype(np.int64)
    counts = np.concatenate([t.counts for t in on_keys]).astype(np.int64)
    return HistogramTable._canonical(keys, rows, slots, counts, group_count, trusted=False)


def _ascending(values: IntArray) -> bool:
    return len(values) < 2 or bool(np.all(values[1:] >= values[:-1]))


def _stack_blockwise(
    tables: Sequence[HistogramTable], groups: Sequence[IntArray], group_count: int, keys: IntArray
) -> HistogramTable:
    """`stack` when each table's groups never go down (rows in time order, say): summed densely a block of
    groups at a time, so the peak is one block (8 MB), not every entry thrice over. Same sums, exactly."""
    width = len(keys)
    step = max(1, _BLOCK_CELLS // width)
    lengths, slots, sums = [], [], []  # per block
    for first in range(0, group_count, step):
        last = min(first + step, group_count)
        block = np.zeros((last - first) * width)
        for table, group in zip(tables, groups, strict=True):
            a, b = np.searchsorted(group, [first, last]).tolist()
            entries = slice(int(table.offsets[a]), int(table.offsets[b]))
            cells = np.repeat(group[a:b] - first, np.diff(table.offsets[a : b + 1])) * width + table.slots[entries]
            block += np.bincount(cells, weights=table.counts[entries], minlength=len(block))
        present = np.flatnonzero(block)
        lengths.append(np.bincount(present // width, minlength=last - first))
        slots.append((present % width).astype(np.int32))  # widened by `joined`: half the pieces' memory
        sums.append(block[present].astype(np.int64))
    offsets = np.concatenate(([0], np.cumsum(np.concatenate(lengths)))).astype(np.int64)
    return HistogramTable(keys, offsets, joined(slots), joined(sums))


def joined(pieces: list[npt.NDArray[Any]]) -> IntArray:
    """The pieces as one int64 array, each dropped as soon as it is copied (the peak is the array and one
    piece, not twice the array)."""
    result = np.empty(sum(map(len, pieces)), dtype=np.int64)
    start = 0
    while pieces:
        piece = pieces.pop(0)
        result[start : start + len(piece)] = piece
        start += len(piece)
    return result
