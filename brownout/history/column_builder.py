"""timeline.csv cells, a chunk of rows at a time, converted to the numpy columns of `TimelineColumns`.

Each chunk's cells are checked and converted as `iter_timeline` would read them, or `Declined` is raised
(the fast reader then answers None). The `hist` cells are checked with one pass over their separators: per
cell `key:count` pairs with single spaces between them, every number 1-18 ASCII digits.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from brownout.history.columns import HistogramTable, joined
from brownout.history.readers import MOST_PER_BUCKET
from brownout.history.records import operation_name
from brownout.history.series import TimelineColumns

_NEWLINE, _COLON, _SPACE, _OTHER, _DIGIT = 0, 1, 2, 3, 4
_KINDS = np.full(256, _OTHER, dtype=np.uint8)  # byte -> what it is
_KINDS[ord("\n")], _KINDS[ord(":")], _KINDS[ord(" ")] = _NEWLINE, _COLON, _SPACE
_KINDS[ord("0") : ord("9") + 1] = _DIGIT
# (separator before, separator after) -> the digits between them: a key, a count, or nothing (empty cell)
_NUMBER_BETWEEN = [_NEWLINE * 4 + _COLON, _COLON * 4 + _SPACE, _COLON * 4 + _NEWLINE, _SPACE * 4 + _COLON]
_EMPTY_CELL = _NEWLINE * 4 + _NEWLINE
_MAX_DIGITS = 18  # fits int64
_TO_SPACES = bytes.maketrans(b":\n", b"  ")
_NUMBER_COLUMNS = ("t", "bucket_keys", "operation_index", "ok", "degraded", "failed")

Ints = npt.NDArray[np.int64]


class Declined(Exception):
    """The file is not one the fast reader can prove it reads exactly: the row-by-row reader takes it."""


class ColumnBuilder:
    """Columns of the chunks added so far; `finish` joins them."""

    def __init__(self) -> None:
        self.operations: dict[str, int] = {}  # operation name -> index, in order of first appearance
        self._by_pair: dict[tuple[str, str], int] = {}
        self._numbers: dict[str, list[npt.NDArray[np.generic]]] = {name: [] for name in _NUMBER_COLUMNS}
        self._lengths: list[Ints] = []  # per chunk: the number of histogram entries of each row
        self._keys: list[Ints] = []
        self._counts: list[Ints] = []
        self._canonical = True

    def add(self, columns: list[list[str]]) -> None:
        """One chunk's cells, column by column (t, type, name, ok, degraded, failed, hist)."""
        if not columns or not columns[0]:
            return
        t_cells, types, names, ok, degraded, failed, hists = columns
        numbers = _numbers(t_cells, ok, degraded, failed)
        numbers["operation_index"] = self._operation_index(types, names)
        for name, values in numbers.items():
            self._numbers[name].append(values)
        lengths, keys, counts, canonical = _histograms(hists)
        self._lengths.append(lengths)
        self._keys.append(keys)
        self._counts.append(counts)
        self._canonical &= canonical

    def _operation_index(self, types: list[str], names: list[str]) -> Ints:
        by_pair = self._by_pair
        for pair in zip(types, names, strict=True):
            if pair not in by_pair:
                by_pair[pair] = self.operations.setdefault(operation_name(*pair), len(self.operations))
        pairs = zip(types, names, strict=True)
        return np.fromiter(map(by_pair.__getitem__, pairs), dtype=np.int64, count=len(types))

    def finish(self) -> TimelineColumns:
        """Every chunk's columns joined; Declined when there were no rows."""
        if not self._lengths:
            raise Declined
        t, bucket_keys, operation_index, ok, degraded, failed = (
            np.concatenate(self._numbers.pop(name)) for name in _NUMBER_COLUMNS
        )
        lengths = np.concatenate(self._lengths)
        keys, counts = joined(self._keys), joined(self._counts)
        hists = HistogramTable.from_row_lengths(lengths, keys, counts, canonical=self._canonical)
        return TimelineColumns(t, bucket_keys, self.operations, operation_index, ok, degraded, failed, hists)


def _numbers(t_cells: list[str], *count_cells: list[str]) -> dict[str, npt.NDArray[np.generic]]:
    """t, bucket keys, ok, degraded and failed as arrays."""
    try:
        t = list(map(float, t_cells))
        counts = [list(map(int, cells)) for cells in count_cells]
    except ValueError:
        raise Declined from None
    if not all(map(math.isfinite, t)) or any(min(column) < 0 for column in counts):
        raise Declined
    if max(map(abs, t)) >= 2**52 / 1000 or any(max(column) >= MOST_PER_BUCKET for column in counts):
        raise Declined  # beyond what numpy keeps exactly (the row-by-row reader rejects such counts)
    ok, degraded, failed = (np.array(column, dtype=np.int64) for column in counts)
    bucket_keys = np.array([round(value * 1000) for value in t], dtype=np.int64)
    return {"t": np.array(t, dtype=np.float64), "bucket_keys": bucket_keys, "ok": ok, "degraded": degraded,
            "failed": failed}  # fmt: skip


def _histograms(cells: list[str]) -> tuple[Ints, Ints, Ints, bool]:
    """(entries per cell, keys, counts, whether the entries are canonical) of these hist cells."""
    try:
        data = "\n".join(cells).encode("ascii") + b"\n"
    except UnicodeEncodeError:
        raise Declined from None
    rows = _pair_rows(data, len(cells))
    lengths = np.bincount(rows, minlength=len(cells)).astype(np.int64)
    if not len(rows):
        return lengths, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), True
    values = np.fromstring(data.translate(_TO_SPACES), dtype=np.int64, sep=" ")
    if len(values) != 2 * len(rows):
        raise Declined
    keys, counts = values[0::2].copy(), values[1::2].copy()
    if int(np.bincount(rows, weights=counts).max()) >= MOST_PER_BUCKET:
        raise Declined
    canonical = bool(np.all(counts > 0))
    if canonical and len(keys) > 1:
        same_row = rows[1:] == rows[:-1]
        canonical = not bool(np.any(same_row & (keys[1:] <= keys[:-1])))
    return lengths, keys, counts, canonical


def _pair_rows(data: bytes, cell_count: int) -> Ints:
    """The row of every pair when every cell is well formed, else Declined.

    Small integer types throughout: a chunk's cells are ~300k separators."""
    raw = np.frombuffer(data, dtype=np.uint8)
    separators = np.flatnonzero(_KINDS[raw] != _DIGIT).astype(np.int32 if len(data) < 2**31 else np.int64)
    kinds = _KINDS[raw[separators]]
    digits_before = np.diff(separators, prepend=separators.dtype.type(-1)) - 1
    del separators
    transition = np.concatenate((np.zeros(1, np.uint8), kinds[:-1])) * np.uint8(4) + kinds  # 0: newline
    well_formed = (transition == _EMPTY_CELL) & (digits_before == 0)
    for number_between in _NUMBER_BETWEEN:
        well_formed |= (transition == number_between) & (digits_before >= 1) & (digits_before <= _MAX_DIGITS)
    del transition, digits_before
    if not bool(np.all(well_formed)):
        raise Declined
    newlines = kinds == _NEWLINE
    if int(np.count_nonzero(newlines)) != cell_count:
        raise Declined
    return np.cumsum(newlines, dtype=np.int64)[kinds == _COLON]  # a colon's row: the newlines before it
