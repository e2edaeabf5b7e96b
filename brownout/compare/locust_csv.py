"""Read Locust's `--csv` output (`PREFIX_stats.csv`, `PREFIX_stats_history.csv`) from any project.

Column names have changed across Locust releases ("# requests" -> "Request Count", "Method" -> "Type",
"Total" -> "Aggregated", percentile sets with or without 99.99 % / 99.999 %), so columns are mapped by
meaning; anything not recognised is rejected by name rather than guessed at.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from brownout.compare.metrics import AGGREGATED
from brownout.errors import InputError

STATS_SUFFIX = "_stats.csv"
HISTORY_SUFFIX = "_stats_history.csv"

_PERCENTILE = re.compile(r"^(\d+(?:\.\d+)?)%$")

# canonical field -> accepted spellings (compared case- and space-insensitively)
_STATS_COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("Type", "Method"),
    "name": ("Name",),
    "requests": ("Request Count", "# requests", "# reqs"),
    "failures": ("Failure Count", "# failures", "# fails"),
    "median": ("Median Response Time", "Median response time", "Median"),
    "average": ("Average Response Time", "Average response time", "Average"),
    "min": ("Min Response Time", "Min response time", "Min"),
    "max": ("Max Response Time", "Max response time", "Max"),
    "content_size": ("Average Content Size", "Average content size"),
    "rps": ("Requests/s", "Current RPS", "Current Requests/s"),
    "failures_per_s": ("Failures/s", "Current Failures/s"),
}
_STATS_REQUIRED = ("name", "requests", "failures")

_HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "timestamp": ("Timestamp",),
    "users": ("User Count", "Users"),
    "type": ("Type", "Method"),
    "name": ("Name",),
    "rps": ("Requests/s",),
    "failures_per_s": ("Failures/s",),
    "total_requests": ("Total Request Count", "# requests"),
    "total_failures": ("Total Failure Count", "# failures"),
    "total_median": ("Total Median Response Time",),
    "total_average": ("Total Average Response Time",),
    "total_min": ("Total Min Response Time",),
    "total_max": ("Total Max Response Time",),
    "total_content_size": ("Total Average Content Size",),
}
_HISTORY_REQUIRED = ("timestamp", "name", "total_requests", "total_failures")

_AGGREGATE_NAMES = {"aggregated", "total"}
_NOT_AVAILABLE = {"", "n/a", "na", "none", "nan"}


@dataclass(frozen=True)
class LocustOperation:
    """One row of stats.csv. Latencies in ms; percentiles keyed by quantile (0.5, 0.95, ...)."""

    key: str
    requests: int
    failures: int
    rps: float | None
    max_ms: float | None
    percentiles: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryPoint:
    timestamp: float
    total_requests: int
    total_failures: int


@dataclass(frozen=True)
class LocustRun:
    """One Locust run: its stats per operation key ("GET /x", "Aggregated") and, when the history file
    exists, the cumulative counts over time per operation (only "Aggregated" unless --csv-full-history)."""

    label: str
    operations: dict[str, LocustOperation]
    history: dict[str, tuple[HistoryPoint, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def operation_key(request_type: str, name: str) -> str:
    if name.strip().lower() in _AGGREGATE_NAMES and request_type.strip().lower() in ("", "none"):
        return AGGREGATED
    return f"{request_type} {name}".strip()


def read_locust_run(prefix: Path) -> LocustRun:
    stats_path = Path(f"{prefix}{STATS_SUFFIX}")
    operations, notes = _read_stats(stats_path)
    history_path = Path(f"{prefix}{HISTORY_SUFFIX}")
    history = _read_history(history_path) if history_path.exists() else {}
    return LocustRun(label=str(prefix), operations=operations, history=history, notes=tuple(notes))


def _normalise(column: str) -> str:
    return " ".join(column.strip().lower().split())


def _map_columns(
    header: list[str], known: dict[str, tuple[str, ...]], required: tuple[str, ...], path: Path
) -> tuple[dict[str, int], dict[float, int]]:
    spellings = {_normalise(alias): canonical for canonical, aliases in known.items() for alias in aliases}
    fields: dict[str, int] = {}
    percentiles: dict[float, int] = {}
    unknown: list[str] = []
    for index, column in enumerate(header):
        name = _normalise(column)
        match = _PERCENTILE.match(name.replace(" ", ""))
        if match:
            percentiles[round(float(match.group(1)) / 100, 6)] = index
        elif name in spellings and spellings[name] not in fields:
            fields[spellings[name]] = index
        else:
            unknown.append(column)
    if unknown:
        raise InputError(
            f"{path} line 1: unknown column(s) {', '.join(repr(c) for c in unknown)}; "
            "is this a Locust --csv file? (expected e.g. Type, Name, Request Count, Failure Count, "
            "50%, 95%, ...)"
        )
    missing = [known[name][0] for name in required if name not in fields]
    if missing:
        raise InputError(f"{path} line 1: missing column(s) {', '.join(repr(m) for m in missing)}")
    return fields, percentiles


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells) with the header first; reject empty and ragged files by line."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        width = 0
        try:
            for cells in reader:
                if not cells:
                    continue
                if width == 0:
                    width = len(cells)
                elif len(cells) != width:
                    raise InputError(
                        f"{path} line {reader.line_num}: {len(cells)} field(s), the header has {width}"
                        + (" (file truncated?)" if len(cells) < width else "")
                    )
                yield reader.line_num, cells
        except csv.Error as exc:
            raise InputError(f"{path} line {reader.line_num}: not valid CSV: {exc}") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a text (UTF-8) file") from None
        if width == 0:
            raise InputError(f"{path}: empty file (no header, no rows)")


def _number(cell: str, path: Path, line: int, column: str) -> float | None:
    if cell.strip().lower() in _NOT_AVAILABLE:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise InputError(f"{path} line {line}, column {column!r}: {cell!r} is not a number") from None
    if math.isnan(value) or value < 0:
        raise InputError(f"{path} line {line}, column {column!r}: {cell!r} is not a non-negative number")
    return value


def _count(cell: str, path: Path, line: int, column: str) -> int:
    value = _number(cell, path, line, column)
    if value is None:
        raise InputError(f"{path} line {line}, column {column!r}: a count is required, got {cell!r}")
    return int(value)


def _read_stats(path: Path) -> tuple[dict[str, LocustOperation], list[str]]:
    rows = _rows(path)
    _, header = next(rows)
    fields, percentile_columns = _map_columns(header, _STATS_COLUMNS, _STATS_REQUIRED, path)
    notes = []
    if 0.5 not in percentile_columns and "median" in fields:
        notes.append(f"{path.name}: no '50%' column, p50 taken from {header[fields['median']]!r}")
    operations: dict[str, LocustOperation] = {}
    last_line = 1
    for line, cells in rows:
        last_line = line

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[fields[name]] if name in fields else ""

        key = operation_key(cell("type"), cell("name"))
        requests = _count(cell("requests"), path, line, header[fields["requests"]])
        failures = _count(cell("failures"), path, line, header[fields["failures"]])
        percentiles: dict[float, float] = {}
        for quantile, index in percentile_columns.items():
            value = _number(cells[index], path, line, header[index])
            if value is not None:
                percentiles[quantile] = value
        if 0.5 not in percentiles and "median" in fields:
            median = _number(cell("median"), path, line, header[fields["median"]])
            if median is not None and requests:
                percentiles[0.5] = median
        max_ms = _number(cell("max"), path, line, header[fields["max"]]) if "max" in fields else None
        if max_ms is None:
            max_ms = percentiles.get(1.0)
        rps = _number(cell("rps"), path, line, header[fields["rps"]]) if "rps" in fields else None
        if key in operations:
            raise InputError(f"{path} line {line}: operation {key!r} appears twice")
        operations[key] = LocustOperation(key, requests, failures, rps, max_ms if requests else None, percentiles)
    if AGGREGATED not in operations:
        raise InputError(
            f"{path} line {last_line}: no 'Aggregated' row after the last line; Locust writes it last, "
            "so the file is truncated or not a Locust stats file"
        )
    return operations, notes


def _read_history(path: Path) -> dict[str, tuple[HistoryPoint, ...]]:
    rows = _rows(path)
    _, header = next(rows)
    fields, _ = _map_columns(header, _HISTORY_COLUMNS, _HISTORY_REQUIRED, path)
    series: dict[str, list[HistoryPoint]] = {}
    for line, cells in rows:
        key = operation_key(cells[fields["type"]] if "type" in fields else "", cells[fields["name"]])
        timestamp = _number(cells[fields["timestamp"]], path, line, header[fields["timestamp"]])
        if timestamp is None:
            raise InputError(f"{path} line {line}: empty Timestamp")
        series.setdefault(key, []).append(
            HistoryPoint(
                timestamp,
                _count(cells[fields["total_requests"]], path, line, header[fields["total_requests"]]),
                _count(cells[fields["total_failures"]], path, line, header[fields["total_failures"]]),
            )
        )
    return {key: tuple(points) for key, points in series.items()}
