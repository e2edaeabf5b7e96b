"""timeline.csv read column-wise at C speed (an hour of 0.25 s buckets is ~72k rows and ~3M numbers).

This is a shortcut, not a second parser to trust: it accepts only a file whose every cell it can prove it
reads exactly as `iter_timeline` would, and answers None for anything else (a damaged file, a quoted cell
it cannot split, a number it would have to interpret), so the caller reads that file row by row with the
reference reader, which also words the error. The `hist` cells are checked with one pass over their
separators: per cell `key:count` pairs with single spaces between them, every number 1-18 ASCII digits.
"""

from __future__ import annotations

import csv
import io
import math
from operator import methodcaller
from pathlib import Path

import numpy as np
import numpy.typing as npt

from brownout.history.columns import HistogramTable
from brownout.history.readers import MOST_PER_BUCKET
from brownout.history.records import TIMELINE, TIMELINE_HEADER, operation_name
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


def read_timeline_columns(results_dir: str | Path) -> TimelineColumns | None:
    """The timeline as columns, or None when the file must go through the row-by-row reader."""
    try:
        text = (Path(results_dir) / TIMELINE).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    columns = _columns(text)
    del text
    if columns is None:
        return None
    # Cells are dropped as soon as they are converted: the peak is the cells or the arrays, not both.
    t_cells, types, names, ok_cells, degraded_cells, failed_cells, hist_cells = columns
    del columns
    numbers = _numbers(t_cells, ok_cells, degraded_cells, failed_cells)
    del t_cells, ok_cells, degraded_cells, failed_cells
    if numbers is None:
        return None
    operations, operation_index = _operations(types, names)
    del types, names
    try:
        data = "\n".join(hist_cells).encode("ascii") + b"\n"
    except UnicodeEncodeError:
        return None
    cell_count = len(hist_cells)
    del hist_cells
    hists = _histograms(data, cell_count)
    if hists is None:
        return None
    t, bucket_keys, ok, degraded, failed = numbers
    return TimelineColumns(t, bucket_keys, operations, operation_index, ok, degraded, failed, hists)


def _operations(types: list[str], names: list[str]) -> tuple[dict[str, int], npt.NDArray[np.int64]]:
    """Operation name -> index in order of first appearance, and every row's index."""
    operations: dict[str, int] = {}
    by_pair: dict[tuple[str, str], int] = {}
    for pair in zip(types, names, strict=True):
        if pair not in by_pair:
            by_pair[pair] = operations.setdefault(operation_name(*pair), len(operations))
    pairs = zip(types, names, strict=True)
    return operations, np.fromiter(map(by_pair.__getitem__, pairs), dtype=np.int64, count=len(types))


def _columns(text: str) -> list[list[str]] | None:
    """The data rows' cells column by column, blank lines dropped, as csv.reader would read them; None
    when the header is not timeline.csv's, a row has the wrong number of cells or there are no rows."""
    width = len(TIMELINE_HEADER)
    if '"' in text or "\r" in text or "\x00" in text:
        try:
            header, *rows = csv.reader(io.StringIO(text, newline=""), strict=True)
        except (csv.Error, ValueError):  # ValueError: not even a header line
            return None
        rows = [row for row in rows if row]  # the header must come first, blank lines after it are skipped
        if not rows or header != list(TIMELINE_HEADER) or any(len(row) != width for row in rows):
            return None
        return [list(column) for column in zip(*rows, strict=True)]
    # Without quotes or carriage returns csv.reader's rows are exactly the lines split at commas, so the
    # cells come out of one split (no list per row: an hour is 72k rows).
    first_line, *lines = text.split("\n")
    lines = [line for line in lines if line]
    if not lines or first_line != ",".join(TIMELINE_HEADER):
        return None
    if set(map(methodcaller("count", ","), lines)) != {width - 1}:
        return None
    cells = ",".join(lines).split(",")
    return [cells[column::width] for column in range(width)]


def _numbers(
    t_cells: list[str], *count_cells: list[str]
) -> tuple[list[float], list[int], list[int], list[int], list[int]] | None:
    try:
        t = list(map(float, t_cells))
        counts = [list(map(int, cells)) for cells in count_cells]
    except ValueError:
        return None
    if not all(map(math.isfinite, t)) or any(min(column) < 0 for column in counts):
        return None
    if max(map(abs, t)) >= 2**52 / 1000 or any(max(column) >= MOST_PER_BUCKET for column in counts):
        return None  # beyond what numpy keeps exactly (the row-by-row reader rejects such counts)
    bucket_keys = [round(value * 1000) for value in t]
    ok, degraded, failed = counts
    return t, bucket_keys, ok, degraded, failed


def _histograms(data: bytes, cell_count: int) -> HistogramTable | None:
    """The table of `cell_count` hist cells, each ended by a newline in `data`; None if one is odd."""
    structure = _pair_rows(data, cell_count)
    if structure is None:
        return None
    rows, pairs = structure
    if not pairs:
        return HistogramTable.empty(cell_count)
    values = np.fromstring(data.translate(_TO_SPACES), dtype=np.int64, sep=" ")
    if len(values) != 2 * pairs:
        return None
    keys, counts = values[0::2], values[1::2]
    if int(np.bincount(rows, weights=counts).max()) >= MOST_PER_BUCKET:
        return None
    canonical = bool(np.all(counts > 0))
    if canonical and len(keys) > 1:
        same_row = rows[1:] == rows[:-1]
        canonical = not bool(np.any(same_row & (keys[1:] <= keys[:-1])))
    return HistogramTable.from_entries(rows, keys, counts, cell_count, canonical=canonical)


def _pair_rows(data: bytes, cell_count: int) -> tuple[npt.NDArray[np.int64], int] | None:
    """(the row of every pair, the number of pairs) when every cell is well formed, else None.

    Small integer types throughout: an hour's cells are ~3M separators, and int64 temporaries of that
    length would double the report's peak memory."""
    raw = np.frombuffer(data, dtype=np.uint8)
    position = np.int32 if len(data) < 2**31 else np.int64
    separators = np.flatnonzero(_KINDS[raw] != _DIGIT).astype(position)
    kinds = _KINDS[raw[separators]]
    digits_before = np.diff(separators, prepend=position(-1)) - 1
    del separators
    transition = np.concatenate((np.zeros(1, np.uint8), kinds[:-1])) * np.uint8(4) + kinds  # 0: newline
    well_formed = (transition == _EMPTY_CELL) & (digits_before == 0)
    for number_between in _NUMBER_BETWEEN:
        well_formed |= (transition == number_between) & (digits_before >= 1) & (digits_before <= _MAX_DIGITS)
    del transition, digits_before
    if not bool(np.all(well_formed)):
        return None
    newlines = kinds == _NEWLINE
    if int(np.count_nonzero(newlines)) != cell_count:
        return None
    colons = kinds == _COLON
    rows = np.cumsum(newlines, dtype=np.int64)[colons]  # a colon's row: the newlines before it
    return rows, len(rows)
