"""The results directory (README.md "Results format (version 2)"): records, writers, validating readers.

`load_history(results_dir)` reads a whole run into the indexes the checks query; the `iter_*`/`read_*`
functions stream single files; the `*Writer` classes append rows during a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brownout.errors import InputError
from brownout.history.guard import GUARD, Abort, GuardRecord
from brownout.history.histogram import LatencyHistogram, round_response_time
from brownout.history.integrity import Integrity, KindIntegrity, StreamIntegrity, merge_counts
from brownout.history.readers import (
    PathLike,
    has_telemetry,
    integrity_from_json,
    iter_telemetry,
    iter_telemetry_samples,
    iter_timeline,
    read_faults,
    read_guard,
    read_integrity,
    read_manifest,
    read_users,
)
from brownout.history.records import (
    DEFAULT_BUCKET_S,
    FAULT_OUTCOMES,
    FAULTS,
    FORMAT,
    FORMAT_VERSION,
    INTEGRITY,
    MANIFEST,
    READABLE_VERSIONS,
    TELEMETRY,
    TIMELINE,
    USERS,
    FaultRow,
    Manifest,
    TelemetryRow,
    TimelineRow,
    UsersRow,
    operation_name,
)
from brownout.history.series import ALL_OPERATIONS, OperationSeries, Timeline, WindowStats
from brownout.history.telemetry import Telemetry, TelemetrySeries
from brownout.history.writers import (
    FaultsWriter,
    TelemetryWriter,
    TimelineWriter,
    UsersWriter,
    write_guard,
    write_integrity,
    write_manifest,
)


@dataclass(frozen=True)
class History:
    """Everything a run recorded; telemetry and integrity are None when the run did not write them."""

    manifest: Manifest
    timeline: Timeline
    users: list[UsersRow]
    faults: list[FaultRow]
    telemetry: Telemetry | None = None
    integrity: Integrity | None = None
    directory: Path | None = None
    guard: GuardRecord | None = None  # None: the run wrote no guard.json (no guard, older runs)


def load_history(results_dir: PathLike) -> History:
    """Read and validate a results directory; any defect raises InputError naming file and line."""
    directory = Path(results_dir)
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory (expected a brownout results directory)")
    manifest = read_manifest(directory)
    from brownout.history.fast_reader import read_timeline_columns  # loads numpy: not for recorders

    columns = read_timeline_columns(directory)
    timeline = (
        Timeline.from_columns(columns, manifest.bucket_s)
        if columns is not None
        else Timeline.from_rows(iter_timeline(directory), manifest.bucket_s)  # precise errors, odd forms
    )
    telemetry = Telemetry.from_samples(iter_telemetry_samples(directory)) if has_telemetry(directory) else None
    return History(
        manifest=manifest,
        timeline=timeline,
        users=read_users(directory),
        faults=read_faults(directory),
        telemetry=telemetry,
        integrity=read_integrity(directory, manifest.format_version),
        directory=directory,
        guard=read_guard(directory),
    )


__all__ = [
    "ALL_OPERATIONS", "DEFAULT_BUCKET_S", "FAULT_OUTCOMES", "FAULTS", "FORMAT", "FORMAT_VERSION", "GUARD",
    "INTEGRITY", "MANIFEST", "READABLE_VERSIONS", "TELEMETRY", "TIMELINE", "USERS",
    "Abort", "FaultRow", "FaultsWriter", "GuardRecord", "History", "Integrity", "KindIntegrity",
    "LatencyHistogram", "Manifest", "OperationSeries", "StreamIntegrity", "Telemetry", "TelemetryRow",
    "TelemetrySeries", "TelemetryWriter", "Timeline", "TimelineRow", "TimelineWriter", "UsersRow", "UsersWriter",
    "WindowStats", "integrity_from_json", "iter_telemetry", "iter_timeline", "load_history", "merge_counts",
    "operation_name", "read_faults", "read_guard", "read_integrity", "read_manifest", "read_users",
    "round_response_time", "write_guard", "write_integrity", "write_manifest",
]  # fmt: skip
