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
from pathlib import Path

import numpy as np

from brownout.history.columns import HistogramTable
from brownout.history.records import TIMELINE, TIMELINE_HEADER, operation_name
from brownout.history.series import TimelineColumns

_NEWLINE, _COLON, _SPACE, _OTHER = 0, 1, 2, 3
_KINDS = np.full(256, _OTHER, dtype=np.int64)
_KINDS[ord("\n")], _KINDS[ord(":")], _KINDS[ord(" ")] = _NEWLINE, _COLON, _SPACE
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
    rows = _split(text)
    if rows is None or len(rows) < 2 or rows[0] != list(TIMELINE_HEADER):
        return None
    if any(len(row) != len(TIMELINE_HEADER) for row in rows):
        return None
    t_cells, types, names, ok_cells, degraded_cells, failed_cells, hist_cells = zip(*rows[1:], strict=True)
    numbers = _numbers(t_cells, ok_cells, degraded_cells, failed_cells)
    hists = _histograms(hist_cells)
    if numbers is None or hists is None:
        return None
    t, bucket_keys, ok, degraded, failed = numbers
    operations: dict[str, int] = {}
    by_pair: dict[tuple[str, str], int] = {}
    for pair in zip(types, names, strict=True):
        if pair not in by_pair:
            by_pair[pair] = operations.setdefault(operation_name(*pair), len(operations))
    operation_index = np.fromiter(map(by_pair.__getitem__, zip(types, names, strict=True)), np.int64, len(t))
    return TimelineColumns(t, bucket_keys, operations, operation_index, ok, degraded, failed, hists)


def _split(text: str) -> list[list[str]] | None:
    """Rows of cells, blank lines dropped, as csv.reader gives them."""
    if '"' in text or "\r" in text or "\x00" in text:
        try:
            return [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
        except csv.Error:
            return None
    # Without quotes or carriage returns, csv.reader's rows are exactly the lines split at commas.
    return [line.split(",") for line in text.split("\n") if line]


def _numbers(
    t_cells: tuple[str, ...], *count_cells: tuple[str, ...]
) -> tuple[list[float], list[int], list[int], list[int], list[int]] | None:
    try:
        t = list(map(float, t_cells))
        counts = [list(map(int, cells)) for cells in count_cells]
    except ValueError:
        return None
    if not all(map(math.isfinite, t)) or any(min(column) < 0 for column in counts):
        return None
    if max(map(abs, t)) >= 2**52 / 1000 or any(max(column) >= 2**53 for column in counts):
        return None  # beyond what the index keeps exactly in numpy
    bucket_keys = [round(value * 1000) for value in t]
    ok, degraded, failed = counts
    return t, bucket_keys, ok, degraded, failed


def _histograms(cells: tuple[str, ...]) -> HistogramTable | None:
    try:
        data = "\n".join(cells).encode("ascii") + b"\n"
    except UnicodeEncodeError:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    separators = np.flatnonzero((raw < ord("0")) | (raw > ord("9")))
    kinds = _KINDS[raw[separators]]
    digits_before = np.diff(separators, prepend=-1) - 1
    previous = np.concatenate(([_NEWLINE], kinds[:-1]))
    transition = previous * 4 + kinds
    number = np.isin(transition, _NUMBER_BETWEEN) & (digits_before >= 1) & (digits_before <= _MAX_DIGITS)
    if not bool(np.all(number | ((transition == _EMPTY_CELL) & (digits_before == 0)))):
        return None
    newlines = kinds == _NEWLINE
    if int(newlines.sum()) != len(cells):
        return None
    colons = np.flatnonzero(kinds == _COLON)
    rows = np.cumsum(newlines)[colons]  # a colon's row: the newlines before it
    if not len(colons):
        return HistogramTable.empty(len(cells))
    values = np.fromstring(data.translate(_TO_SPACES), dtype=np.int64, sep=" ")  # noqa: NPY201
    if len(values) != 2 * len(colons):
        return None
    keys, counts = values[0::2], values[1::2]
    canonical = bool(np.all(counts > 0))
    if canonical and len(keys) > 1:
        same_row = rows[1:] == rows[:-1]
        canonical = not bool(np.any(same_row & (keys[1:] <= keys[:-1])))
    return HistogramTable.from_entries(rows, keys, counts, len(cells), canonical=canonical)
