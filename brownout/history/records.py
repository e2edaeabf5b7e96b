"""The records of a results directory (README.md "Results format (version 2)") as frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from brownout.history.histogram import LatencyHistogram

FORMAT = "brownout-results"
# 2: integrity.json per kind (brownout.history.integrity). Version 1 directories are still read.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

MANIFEST = "manifest.json"
TIMELINE = "timeline.csv"
USERS = "users.csv"
FAULTS = "faults.csv"
TELEMETRY = "telemetry.csv"
INTEGRITY = "integrity.json"

TIMELINE_HEADER = ("t", "type", "name", "ok", "degraded", "failed", "hist")
USERS_HEADER = ("t", "users", "step")
FAULTS_HEADER = (
    "name", "target", "kind", "params", "planned_start", "planned_end",
    "actual_start", "actual_end", "outcome", "error", "evidence",
)  # fmt: skip
# faults.csv before the `evidence` column (version 1 and early version 2): still read, evidence {}.
FAULTS_HEADER_WITHOUT_EVIDENCE = FAULTS_HEADER[:-1]
TELEMETRY_HEADER = ("t", "source", "metric", "labels", "value")

FAULT_OUTCOMES = ("healed", "aborted", "inject-failed", "heal-failed", "skipped")
DEFAULT_BUCKET_S = 0.25


def operation_name(request_type: str, name: str) -> str:
    """How an operation (request type x name) is called in checks and reports, as Locust shows it."""
    return f"{request_type} {name}"


@dataclass(frozen=True)
class Manifest:
    started_at: float
    ended_at: float
    bucket_s: float = DEFAULT_BUCKET_S
    scenario: dict[str, Any] = field(default_factory=dict)
    scenario_text: str = ""
    brownout_version: str = ""
    locust_version: str = ""
    python_version: str = ""
    git_rev: str = ""
    command: list[str] = field(default_factory=list)
    host: str = ""
    format_version: int = FORMAT_VERSION
    release: str = ""  # `brownout run --release LABEL`: how the run store labels this run
    store: str = ""  # `brownout run --store STORE` (absolute): the run store the report places the run against

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "brownout_version": self.brownout_version,
            "locust_version": self.locust_version,
            "python_version": self.python_version,
            "git_rev": self.git_rev,
            "command": list(self.command),
            "scenario": self.scenario,
            "scenario_text": self.scenario_text,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "host": self.host,
            "bucket_s": self.bucket_s,
            **({"release": self.release} if self.release else {}),
            **({"store": self.store} if self.store else {}),
        }


@dataclass(frozen=True)
class TimelineRow:
    """Requests of one operation that started in [t, t + bucket_s)."""

    t: float
    type: str
    name: str
    ok: int
    degraded: int
    failed: int
    hist: LatencyHistogram = field(default_factory=LatencyHistogram, compare=True)

    @property
    def operation(self) -> str:
        return operation_name(self.type, self.name)

    @property
    def total(self) -> int:
        return self.ok + self.degraded + self.failed


@dataclass(frozen=True)
class UsersRow:
    t: float
    users: int
    step: int


@dataclass(frozen=True)
class FaultRow:
    """One fault of the journal; times are None where they never happened (e.g. a skipped fault)."""

    name: str
    target: str
    kind: str
    params: dict[str, Any]
    planned_start: float | None
    planned_end: float | None
    actual_start: float | None
    actual_end: float | None
    outcome: str
    error: str = ""
    # What the fault acted on, as the driver saw it (JSON object): a network fault's traffic through its
    # proxy, a component fault's pid, an http/command fault's answer; {"unknown": why} when it could not tell.
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TelemetryRow:
    t: float
    source: str
    metric: str
    labels: dict[str, str]
    value: float


def encode_evidence(evidence: dict[str, Any]) -> str:
    """The `evidence` cell: compact JSON with sorted keys (readable in a spreadsheet), "" when there is none."""
    return json.dumps(evidence, sort_keys=True, separators=(",", ":")) if evidence else ""


def encode_labels(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
