"""Writers of a results directory: append-only CSV tables and the two JSON documents."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from brownout.history import records
from brownout.history.guard import GUARD, GuardRecord
from brownout.history.integrity import Integrity

RowT = TypeVar("RowT")


def _time(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class _CsvTable(Generic[RowT]):
    """Appends rows to one CSV file, writing the header first when the file is new or empty."""

    file_name: str
    header: tuple[str, ...]

    def __init__(self, results_dir: str | os.PathLike[str]) -> None:
        self.path = Path(results_dir) / self.file_name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        if self._file.tell() == 0:
            self._writer.writerow(self.header)

    def _cells(self, row: RowT) -> list[Any]:
        raise NotImplementedError

    def append(self, row: RowT) -> None:
        self._writer.writerow(self._cells(row))

    def extend(self, rows: list[RowT]) -> None:
        self._writer.writerows(self._cells(row) for row in rows)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class TimelineWriter(_CsvTable[records.TimelineRow]):
    file_name = records.TIMELINE
    header = records.TIMELINE_HEADER

    def _cells(self, row: records.TimelineRow) -> list[Any]:
        return [_time(row.t), row.type, row.name, row.ok, row.degraded, row.failed, row.hist.encode()]


class UsersWriter(_CsvTable[records.UsersRow]):
    file_name = records.USERS
    header = records.USERS_HEADER

    def _cells(self, row: records.UsersRow) -> list[Any]:
        return [_time(row.t), row.users, row.step]


class FaultsWriter(_CsvTable[records.FaultRow]):
    file_name = records.FAULTS
    header = records.FAULTS_HEADER

    def _cells(self, row: records.FaultRow) -> list[Any]:
        return [
            row.name, row.target, row.kind, json.dumps(row.params, sort_keys=True),
            _time(row.planned_start), _time(row.planned_end), _time(row.actual_start), _time(row.actual_end),
            row.outcome, row.error, records.encode_evidence(row.evidence),
        ]  # fmt: skip


class TelemetryWriter(_CsvTable[records.TelemetryRow]):
    file_name = records.TELEMETRY
    header = records.TELEMETRY_HEADER

    def _cells(self, row: records.TelemetryRow) -> list[Any]:
        return [_time(row.t), row.source, row.metric, records.encode_labels(row.labels), repr(float(row.value))]


def _write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    # A crash mid-write must not leave a half document that a later report would reject.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


def write_guard(results_dir: str | os.PathLike[str], record: GuardRecord) -> Path:
    path = Path(results_dir) / GUARD
    _write_json_atomically(path, record.to_json())
    return path


def write_manifest(results_dir: str | os.PathLike[str], manifest: records.Manifest) -> Path:
    path = Path(results_dir) / records.MANIFEST
    _write_json_atomically(path, manifest.to_json())
    return path


def write_integrity(results_dir: str | os.PathLike[str], integrity: Integrity) -> Path:
    path = Path(results_dir) / records.INTEGRITY
    _write_json_atomically(path, integrity.to_json())
    return path
