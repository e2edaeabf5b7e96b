"""timeline.csv read column-wise at C speed (an hour of 0.25 s buckets is ~72k rows and ~3M numbers).

This is a shortcut, not a second parser to trust: it accepts only a file whose every cell it can prove it
reads exactly as `iter_timeline` would, and answers None for anything else (a damaged file, a quoted cell
it cannot split, a number it would have to interpret), so the caller reads that file row by row with the
reference reader, which also words the error.

The file is split into chunks of whole lines (~1 MB) that are converted one after the other
(`column_builder`): only one chunk's cells exist as Python strings at a time, so the peak memory is the
columns plus a chunk, not the columns plus every cell of the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from operator import methodcaller
from pathlib import Path

from brownout.history.column_builder import ColumnBuilder, Declined
from brownout.history.records import TIMELINE, TIMELINE_HEADER
from brownout.history.series import TimelineColumns

_CHUNK_BYTES = 1 << 20
_HEADER_LINE = ",".join(TIMELINE_HEADER).encode("ascii")
_WIDTH = len(TIMELINE_HEADER)


def read_timeline_columns(results_dir: str | Path) -> TimelineColumns | None:
    """The timeline as columns, or None when the file must go through the row-by-row reader."""
    try:
        raw = (Path(results_dir) / TIMELINE).read_bytes()
    except OSError:
        return None
    builder = ColumnBuilder()
    try:
        for columns in _cell_chunks(raw):
            builder.add(columns)
        del raw  # the file's bytes are not needed to join the columns
        return builder.finish()
    except Declined:
        return None


def _cell_chunks(raw: bytes) -> Iterator[list[list[str]]]:
    """The data rows' cells column by column, a chunk of rows at a time, blank lines dropped, as csv.reader
    would read them; Declined when the header is not timeline.csv's or a row has the wrong number of cells."""
    if b'"' in raw or b"\r" in raw or b"\x00" in raw:
        yield _quoted_columns(_decoded(raw))  # rare (Locust names with quotes): the whole file at once
        return
    # Without quotes or carriage returns csv.reader's rows are exactly the lines split at commas.
    # A chunk ends at a newline, which no multi-byte UTF-8 character contains: chunks decode as the file would.
    body = raw.find(b"\n") + 1
    if raw[: body - 1 if body else len(raw)] != _HEADER_LINE:
        raise Declined
    while body and body < len(raw):
        end = raw.find(b"\n", body + _CHUNK_BYTES) + 1 or len(raw)
        lines = [line for line in _decoded(raw[body:end]).split("\n") if line]
        if lines:
            yield _split(lines)
        body = end


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Declined from None


def _split(lines: list[str]) -> list[list[str]]:
    """Lines without quotes as columns of cells (one split for all of them: no list per row)."""
    if set(map(methodcaller("count", ","), lines)) != {_WIDTH - 1}:
        raise Declined
    cells = ",".join(lines).split(",")
    return [cells[column::_WIDTH] for column in range(_WIDTH)]


def _quoted_columns(text: str) -> list[list[str]]:
    try:
        header, *rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    except (csv.Error, ValueError):  # ValueError: not even a header line
        raise Declined from None
    rows = [row for row in rows if row]  # the header must come first, blank lines after it are skipped
    if header != list(TIMELINE_HEADER) or any(len(row) != _WIDTH for row in rows):
        raise Declined
    return [list(column) for column in zip(*rows, strict=True)] if rows else []
