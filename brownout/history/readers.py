"""Validating readers of a results directory.

Every defect a reader finds becomes an InputError naming the file, the line and what is wrong, so
`brownout report` can say exactly which results file to look at. CSV tables are streamed row by row.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from brownout.errors import InputError
from brownout.history.guard import GUARD, Abort, GuardRecord
from brownout.history.histogram import LatencyHistogram
from brownout.history.integrity import Integrity, KindIntegrity, StreamIntegrity
from brownout.history.records import (
    FAULT_OUTCOMES,
    FAULTS,
    FAULTS_HEADER,
    FAULTS_HEADER_WITHOUT_EVIDENCE,
    FORMAT,
    FORMAT_VERSION,
    INTEGRITY,
    MANIFEST,
    READABLE_VERSIONS,
    TELEMETRY,
    TELEMETRY_HEADER,
    TIMELINE,
    TIMELINE_HEADER,
    USERS,
    USERS_HEADER,
    FaultRow,
    Manifest,
    TelemetryRow,
    TimelineRow,
    UsersRow,
    encode_labels,
)
from brownout.history.telemetry import Sample

PathLike = str | os.PathLike[str]


def _missing(path: Path) -> InputError:
    return InputError(f"{path}: file is missing (is {path.parent} a brownout results directory?)")


def _iter_csv(path: Path, header: tuple[str, ...], older: tuple[str, ...] = ()) -> Iterator[tuple[int, list[str]]]:
    """Yields (line number, cells) of every data row after checking the header and the cell count.

    A file with the `older` header (the same columns, fewer at the end) is read too, its rows padded with ""."""
    if not path.is_file():
        raise _missing(path)
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.reader(file, strict=True)
            first = next(reader, None)
            if first is None:
                raise InputError(f"{path}: file is empty; expected the header row {','.join(header)!r}")
            found = tuple(first)
            if found != header and (not older or found != older):
                raise InputError(
                    f"{path}, line 1: wrong header {','.join(first)!r}; expected {','.join(header)!r}"
                )
            padding = [""] * (len(header) - len(found))
            for cells in reader:
                if not cells:
                    continue  # a blank line carries nothing
                if len(cells) != len(found):
                    what = "truncated row" if len(cells) < len(found) else "too many cells"
                    raise InputError(
                        f"{path}, line {reader.line_num}: {what}: {len(cells)} cells, expected {len(found)} "
                        f"({','.join(found)})"
                    )
                yield reader.line_num, cells + padding
    except csv.Error as exc:
        raise InputError(f"{path}: not valid CSV: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


class _Cells:
    """Typed access to one row's cells; every conversion error names file, line and column."""

    __slots__ = ("path", "line", "header", "cells")

    def __init__(self, path: Path, line: int, header: tuple[str, ...], cells: list[str]) -> None:
        self.path, self.line, self.header, self.cells = path, line, header, cells

    def error(self, column: str, what: str) -> InputError:
        return InputError(f"{self.path}, line {self.line}: column {column!r}: {what}")

    def text(self, column: str) -> str:
        return self.cells[self.header.index(column)]

    def number(self, column: str) -> float:
        value = self.optional_number(column)
        if value is None:
            raise self.error(column, "is empty, expected a number")
        return value

    def optional_number(self, column: str) -> float | None:
        text = self.text(column)
        if text == "":
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.error(column, f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise self.error(column, f"{text!r} is not a finite number")
        return value

    def json_object(self, column: str) -> dict[str, Any]:
        """A JSON object cell; "" is {}."""
        text = self.text(column)
        try:
            value = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise self.error(column, f"not JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise self.error(column, "must be a JSON object")
        return value

    def count(self, column: str) -> int:
        text = self.text(column)
        if not (text.isascii() and text.isdigit()):
            raise self.error(column, f"{text!r} is not a non-negative integer")
        return int(text)

    def integer(self, column: str) -> int:
        text = self.text(column)
        try:
            return int(text)
        except ValueError:
            raise self.error(column, f"{text!r} is not an integer") from None


# More requests than this in one bucket is no real count (10^12 in a fraction of a second), and the index
# adds windows of them up exactly only below 2**53.
MOST_PER_BUCKET = 2**40


def iter_timeline(results_dir: PathLike) -> Iterator[TimelineRow]:
    path = Path(results_dir) / TIMELINE
    for line, raw in _iter_csv(path, TIMELINE_HEADER):
        row = _timeline_row(path, line, raw)
        for column, value in (
            ("ok", row.ok), ("degraded", row.degraded), ("failed", row.failed), ("hist", row.hist.count)
        ):  # fmt: skip
            if value >= MOST_PER_BUCKET:
                raise _Cells(path, line, TIMELINE_HEADER, raw).error(
                    column, f"{value} requests in one bucket is not a plausible count"
                )
        yield row


def _timeline_row(path: Path, line: int, raw: list[str]) -> TimelineRow:
    try:  # the fast path; anything odd is re-read below to say precisely what is wrong
        t, ok, degraded, failed = float(raw[0]), int(raw[3]), int(raw[4]), int(raw[5])
        if math.isfinite(t) and min(ok, degraded, failed) >= 0:
            return TimelineRow(t, raw[1], raw[2], ok, degraded, failed, LatencyHistogram.decode(raw[6]))
    except ValueError:
        pass
    cells = _Cells(path, line, TIMELINE_HEADER, raw)
    t, ok, degraded, failed = (
        cells.number("t"),
        cells.count("ok"),
        cells.count("degraded"),
        cells.count("failed"),
    )
    try:
        hist = LatencyHistogram.decode(raw[6])
    except ValueError as exc:
        raise cells.error("hist", str(exc)) from None
    return TimelineRow(t, raw[1], raw[2], ok, degraded, failed, hist)


def read_users(results_dir: PathLike) -> list[UsersRow]:
    path = Path(results_dir) / USERS
    rows = []
    for line, raw in _iter_csv(path, USERS_HEADER):
        cells = _Cells(path, line, USERS_HEADER, raw)
        rows.append(UsersRow(t=cells.number("t"), users=cells.count("users"), step=cells.integer("step")))
    return rows


def read_faults(results_dir: PathLike) -> list[FaultRow]:
    path = Path(results_dir) / FAULTS
    rows = []
    for line, raw in _iter_csv(path, FAULTS_HEADER, older=FAULTS_HEADER_WITHOUT_EVIDENCE):
        cells = _Cells(path, line, FAULTS_HEADER, raw)
        outcome = cells.text("outcome")
        if outcome not in FAULT_OUTCOMES:
            raise cells.error("outcome", f"{outcome!r} is not one of {', '.join(FAULT_OUTCOMES)}")
        row = FaultRow(
            name=raw[0], target=raw[1], kind=raw[2], params=cells.json_object("params"),
            planned_start=cells.optional_number("planned_start"),
            planned_end=cells.optional_number("planned_end"),
            actual_start=cells.optional_number("actual_start"),
            actual_end=cells.optional_number("actual_end"),
            outcome=outcome, error=cells.text("error"), evidence=cells.json_object("evidence"),
        )  # fmt: skip
        if row.actual_start is not None and row.actual_end is not None and row.actual_end < row.actual_start:
            raise cells.error("actual_end", f"{row.actual_end} is before actual_start {row.actual_start}")
        rows.append(row)
    return rows


def _parse_labels(cells: _Cells) -> dict[str, str]:
    text = cells.text("labels")
    labels: dict[str, str] = {}
    for pair in filter(None, text.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise cells.error("labels", f"{pair!r} is not 'name=value'")
        labels[key] = value
    return labels


def iter_telemetry(results_dir: PathLike) -> Iterator[TelemetryRow]:
    for t, source, metric, _, labels, value in iter_telemetry_samples(results_dir):
        yield TelemetryRow(t=t, source=source, metric=metric, labels=dict(labels), value=value)


def iter_telemetry_samples(results_dir: PathLike) -> Iterator[Sample]:
    """telemetry.csv as (t, source, metric, encoded labels, labels, value); rows with the same labels
    cell share one labels dict (do not change it), so an hour of scrapes parses each labels cell once."""
    path = Path(results_dir) / TELEMETRY
    parsed: dict[str, tuple[str, dict[str, str]]] = {}  # labels cell -> (encoded, labels)
    for line, raw in _iter_csv(path, TELEMETRY_HEADER):
        labels = parsed.get(raw[3])
        try:  # the fast path; anything odd is re-read below to say precisely what is wrong
            value, t = float(raw[4]), float(raw[0])
        except ValueError:
            labels = None
        if labels is None or not math.isfinite(t):
            cells = _Cells(path, line, TELEMETRY_HEADER, raw)
            text = raw[4]
            try:
                value = float(text)  # Prometheus values may be NaN or +Inf; both are legitimate samples
            except ValueError:
                raise cells.error("value", f"{text!r} is not a number") from None
            t = cells.number("t")
            found = _parse_labels(cells)
            labels = parsed[raw[3]] = (encode_labels(found), found)
        yield t, raw[1], raw[2], labels[0], labels[1], value


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise _missing(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise InputError(f"{path}: file is empty; expected a JSON object")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(document).__name__}")
    return document


class _Fields:
    """Typed access to a JSON object's fields; errors name the file and the dotted field."""

    def __init__(self, path: Path, document: dict[str, Any], prefix: str = "") -> None:
        self.path, self.document, self.prefix = path, document, prefix

    def error(self, key: str, what: str) -> InputError:
        return InputError(f"{self.path}: field {self.prefix + key!r} {what}")

    def get(
        self, key: str, kinds: type | tuple[type, ...], *, required: bool = True, default: Any = None
    ) -> Any:
        if key not in self.document:
            if required:
                raise self.error(key, "is missing")
            return default
        value = self.document[key]
        if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            raise self.error(key, f"must be {_kind_names(kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.error(key, f"must be {_kind_names(kinds)}, got {value!r}")
        return value

    def count(self, key: str, *, required: bool = True) -> int:
        value = self.get(key, int, required=required, default=0)
        if value < 0:
            raise self.error(key, f"must not be negative, got {value}")
        return int(value)

    def nested(self, key: str) -> _Fields:
        return _Fields(self.path, self.get(key, dict, required=False, default={}), f"{self.prefix}{key}.")


def _kind_names(kinds: type | tuple[type, ...]) -> str:
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "an object",
        list: "a list",
        bool: "a boolean",
    }
    kinds_tuple = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(names.get(kind, kind.__name__) for kind in kinds_tuple if kind is not type(None)) + (
        " or null" if type(None) in kinds_tuple else ""
    )


def read_manifest(results_dir: PathLike) -> Manifest:
    path = Path(results_dir) / MANIFEST
    fields = _Fields(path, _load_json(path))
    if fields.get("format", str) != FORMAT:
        raise fields.error("format", f"is {fields.document['format']!r}; expected {FORMAT!r}")
    version = fields.get("format_version", int)
    if version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise fields.error(
            "format_version", f"is {version}: unknown results format version (this brownout reads {readable})"
        )
    number = (int, float)
    started_at, ended_at = fields.get("started_at", number), fields.get("ended_at", number)
    if ended_at < started_at:
        raise fields.error("ended_at", f"{ended_at} is before started_at {started_at}")
    bucket_s = fields.get("bucket_s", number)
    if bucket_s <= 0:
        raise fields.error("bucket_s", f"must be positive, got {bucket_s}")
    return Manifest(
        started_at=float(started_at), ended_at=float(ended_at), bucket_s=float(bucket_s),
        scenario=fields.get("scenario", dict, required=False, default={}),
        scenario_text=fields.get("scenario_text", str, required=False, default=""),
        brownout_version=fields.get("brownout_version", str, required=False, default=""),
        locust_version=fields.get("locust_version", str, required=False, default=""),
        python_version=fields.get("python_version", str, required=False, default=""),
        git_rev=fields.get("git_rev", (str, type(None)), required=False, default="") or "",
        command=fields.get("command", list, required=False, default=[]),
        host=fields.get("host", (str, type(None)), required=False, default="") or "",
        format_version=version,
        release=fields.get("release", (str, type(None)), required=False, default="") or "",
        store=fields.get("store", (str, type(None)), required=False, default="") or "",
    )  # fmt: skip


def read_integrity(results_dir: PathLike, format_version: int = FORMAT_VERSION) -> Integrity | None:
    """None when the run wrote no integrity.json (the integrity check then answers unknown). A file of
    format 1 (the manifest's format_version) is converted to the same record."""
    path = Path(results_dir) / INTEGRITY
    if not path.exists():
        return None
    return integrity_from_json(_load_json(path), format_version, path)


def read_guard(results_dir: PathLike) -> GuardRecord | None:
    """None when the run wrote no guard.json (older runs): no guard was configured."""
    path = Path(results_dir) / GUARD
    if not path.exists():
        return None
    fields = _Fields(path, _load_json(path))
    limits = fields.get("limits", dict)
    switch = fields.get("kill_switch_file", (str, type(None)), required=False)
    raw = fields.get("abort", (dict, type(None)), required=False)
    return GuardRecord(limits, switch, None if raw is None else _abort(_Fields(path, raw, "abort.")))


def _abort(fields: _Fields) -> Abort:
    number = (int, float, type(None))
    return Abort(
        by=fields.get("by", str), what=fields.get("what", str), reason=fields.get("reason", str),
        at=float(fields.get("at", (int, float))), at_s=float(fields.get("at_s", (int, float))),
        value=fields.get("value", number, required=False), limit=fields.get("limit", number, required=False),
        in_force=tuple(fields.get("in_force", list, required=False, default=[])),
    )  # fmt: skip


def integrity_from_json(document: dict[str, Any], format_version: int, path: Path | None = None) -> Integrity:
    """The record from integrity.json's content (or the integrity check's figures, which are the same)."""
    fields = _Fields(path or Path(INTEGRITY), document)
    if format_version == 1:
        return _integrity_v1(fields)
    kinds = fields.nested("kinds")
    stream = fields.nested("stream")
    return Integrity(
        verified=fields.get("verified", bool),
        error=fields.get("error", (str, type(None)), required=False),
        kinds={kind: _kind_integrity(kinds.nested(kind)) for kind in kinds.document},
        stream=StreamIntegrity(stream.count("users"), stream.count("gaps"), stream.count("duplicates")),
        unattributed=_kind_integrity(fields.nested("unattributed")) if "unattributed" in document else KindIntegrity(),
    )


def _kind_integrity(fields: _Fields) -> KindIntegrity:
    violations = fields.nested("violations")
    return KindIntegrity(
        acknowledged=fields.count("acknowledged"),
        lost=fields.count("lost"),
        duplicated=fields.count("duplicated"),
        unverifiable=fields.count("unverifiable"),
        lost_ids=_ids(fields, "lost_ids"),
        duplicated_ids=_ids(fields, "duplicated_ids"),
        violations={name: violations.count(name) for name in violations.document},
    )


def _ids(fields: _Fields, key: str) -> tuple[str, ...]:
    return tuple(str(i) for i in fields.get(key, (list, type(None)), required=False) or [])


# Format 1's sample nouns, in the order its reports listed them: every format-1 file had these kinds and
# these workflow findings (0 when absent), so a converted record reports exactly as format 1 did.
_V1_KINDS = ("messages", "workflows")
_V1_VIOLATIONS = (("half_done", "half-done workflows"), ("leaked_reservations", "leaked reservations"))


def _integrity_v1(fields: _Fields) -> Integrity:
    acknowledged, stream, workflows = fields.nested("acknowledged"), fields.nested("stream"), fields.nested("workflows")
    others = sorted(kind for kind in acknowledged.document if kind not in _V1_KINDS)
    kinds = {
        kind: KindIntegrity(acknowledged=acknowledged.count(kind, required=False)) for kind in (*_V1_KINDS, *others)
    }
    violations = {name: workflows.count(key, required=False) for key, name in _V1_VIOLATIONS}
    kinds["workflows"] = KindIntegrity(acknowledged=kinds["workflows"].acknowledged, violations=violations)
    return Integrity(
        verified=fields.get("verified", bool),
        error=fields.get("error", (str, type(None)), required=False),
        kinds=kinds,
        stream=StreamIntegrity(*(stream.count(key, required=False) for key in ("users", "gaps", "duplicates"))),
        unattributed=KindIntegrity(
            lost=fields.count("lost"), duplicated=fields.count("duplicated"), unverifiable=fields.count("unverifiable"),
            lost_ids=_ids(fields, "lost_ids"), duplicated_ids=_ids(fields, "duplicated_ids"),
        ),
    )  # fmt: skip


def has_telemetry(results_dir: PathLike) -> bool:
    return (Path(results_dir) / TELEMETRY).exists()
