"""One run's figures as the store keeps them: compare's own figure extraction (results_side for a brownout
results directory, locust_side for a plain Locust CSV set), reduced to a value and the run's own spread
(the bootstrap's standard deviation) per (scope kind, scope, metric), so the raw timeline is never needed
again."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brownout.compare.comparison import load_side
from brownout.compare.figures import Figure, Key
from brownout.compare.locust_csv import HISTORY_SUFFIX, STATS_SUFFIX
from brownout.compare.sources import BROWNOUT, RunSource, SideSources
from brownout.compare.tolerance import StatsSettings
from brownout.errors import InputError
from brownout.history.readers import read_manifest

# Fewer replicates than compare's 1000: the store keeps only their standard deviation, which 200 already
# pins to a few per cent, and an hour-long run is read in well under the 2 s aim.
STORE_SETTINGS = StatsSettings(replicates=200)


@dataclass(frozen=True)
class StoredFigure:
    key: Key
    value: float
    spread: float | None  # the run's own bootstrap standard deviation; None: the inputs give no interval
    basis: str
    requests: int
    windows: int


@dataclass(frozen=True)
class RunRecord:
    run_id: str  # content hash: the same run added twice (from any path) is the same entry
    name: str  # the directory or prefix name, for people
    kind: str
    source: str
    label: str  # release label; "" when the run names none
    started_at: float | None
    figures: tuple[StoredFigure, ...]


def read_run(run: RunSource, release: str | None = None) -> RunRecord:
    """Everything the store keeps of one run; InputError (naming the file) for a damaged one."""
    label, started_at = _manifest_label(run) if run.kind == BROWNOUT else ("", None)
    side = load_side(SideSources("run", (run,)), STORE_SETTINGS)
    figures = tuple(stored for key, figure in sorted(side.figures.items()) if (stored := _stored(key, figure)))
    return RunRecord(
        run_id=run_identity(run), name=run.path.name, kind=run.kind, source=str(run.path.resolve()),
        label=release or label, started_at=started_at, figures=figures,
    )  # fmt: skip


def _manifest_label(run: RunSource) -> tuple[str, float]:
    manifest = read_manifest(run.path)
    return manifest.release or manifest.git_rev, manifest.started_at


def _stored(key: Key, figure: Figure) -> StoredFigure | None:
    if figure.value is None or not math.isfinite(figure.value):
        return None
    spread = None
    if figure.has_interval and figure.replicates is not None:
        present = figure.replicates[np.isfinite(figure.replicates)]
        spread = float(present.std(ddof=1))
    return StoredFigure(key, float(figure.value), spread, figure.basis, figure.requests, figure.windows)


def run_identity(run: RunSource) -> str:
    """A hash of the files that make the run what it is: a brownout manifest and timeline, or a Locust set's
    stats and history (the same run under another path is the same run; a few ms per 10 MB)."""
    if run.kind == BROWNOUT:
        files = [run.path / "manifest.json", run.path / "timeline.csv"]
    else:
        files = [Path(f"{run.path}{suffix}") for suffix in (STATS_SUFFIX, HISTORY_SUFFIX)]
    digest = hashlib.sha256(run.kind.encode())
    for path in files:
        try:
            digest.update(path.read_bytes() if path.is_file() else b"-")
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()[:20]
