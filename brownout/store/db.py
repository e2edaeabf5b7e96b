"""The run store: one SQLite file. A run and its figures go in within one transaction, so a crash mid-add
leaves the store as it was before (SQLite's journal), and two CI jobs adding at once are serialised by its
lock. Releases are ordered by when their first run was added: the order a CI adds them in."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from brownout.compare.figures import Key
from brownout.errors import InputError
from brownout.store.extract import RunRecord

FORMAT = "brownout-store"
VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT UNIQUE NOT NULL, release TEXT NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, started_at REAL, added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS figures (
    run_id TEXT NOT NULL REFERENCES runs (run_id), scope_kind TEXT NOT NULL, scope TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL NOT NULL, spread REAL, basis TEXT NOT NULL, requests INTEGER NOT NULL,
    windows INTEGER NOT NULL, PRIMARY KEY (run_id, scope_kind, scope, metric)
);
"""


@dataclass(frozen=True)
class StoredRun:
    seq: int
    run_id: str
    release: str
    name: str
    kind: str
    figures: int


@dataclass(frozen=True)
class Point:
    """One run's value of one row, for history judgements and trends."""

    seq: int
    run_id: str
    release: str
    value: float
    spread: float | None
    requests: int = 0  # requests behind the figure, for the thin-tail rule


@contextlib.contextmanager
def open_store(path: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    if not create and not path.is_file():
        raise InputError(f"{path}: no such store (`brownout store add {path} RUN...` creates it)")
    try:
        connection = sqlite3.connect(path, timeout=30.0)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot open the store: {exc}") from None
    try:
        _check_format(connection, path, create)
        yield connection
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a readable brownout store: {exc}") from None
    finally:
        connection.close()


def _check_format(connection: sqlite3.Connection, path: Path, create: bool) -> None:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables and create:
        with connection:
            connection.executescript(_SCHEMA)
            connection.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("version", VERSION)])
        return
    meta = dict(connection.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
    if meta.get("format") != FORMAT:
        raise InputError(f"{path}: not a brownout store (an SQLite file without its format mark)")
    if meta.get("version") != VERSION:
        raise InputError(f"{path}: store version {meta.get('version')!r}; this brownout reads version {VERSION}")


def known(connection: sqlite3.Connection, run_id: str) -> bool:
    return connection.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None


def add_runs(connection: sqlite3.Connection, records: list[RunRecord]) -> list[bool]:
    """Add runs and their figures in one transaction (all or none); per run, False when it was there already."""
    added = []
    with connection:  # commits, or rolls back on any error: never half a run
        for record in records:
            if known(connection, record.run_id):
                added.append(False)
                continue
            connection.execute(
                "INSERT INTO runs (run_id, release, name, kind, source, started_at, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.run_id, record.label, record.name, record.kind, record.source, record.started_at, time.time()),
            )
            connection.executemany(
                "INSERT INTO figures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(record.run_id, *f.key, f.value, f.spread, f.basis, f.requests, f.windows) for f in record.figures],
            )
            added.append(True)
    return added


def list_runs(connection: sqlite3.Connection) -> list[StoredRun]:
    rows = connection.execute(
        "SELECT r.seq, r.run_id, r.release, r.name, r.kind, COUNT(f.value) FROM runs r "
        "LEFT JOIN figures f ON f.run_id = r.run_id GROUP BY r.seq ORDER BY r.seq"
    ).fetchall()
    return [StoredRun(*row) for row in rows]


def releases(connection: sqlite3.Connection) -> list[str]:
    """Release labels, oldest first (by the first run added of each)."""
    rows = connection.execute("SELECT release FROM runs GROUP BY release ORDER BY MIN(seq)").fetchall()
    return [row[0] for row in rows]


def points(connection: sqlite3.Connection, release: str | None = None) -> dict[Key, list[Point]]:
    """Every stored value per row, in the order the runs were added (one release only, when given)."""
    query = (
        "SELECT f.scope_kind, f.scope, f.metric, r.seq, r.run_id, r.release, f.value, f.spread, f.requests "
        "FROM figures f JOIN runs r ON r.run_id = f.run_id"
    )
    parameters: tuple[str, ...] = ()
    if release is not None:
        query += " WHERE r.release = ?"
        parameters = (release,)
    series: dict[Key, list[Point]] = {}
    for kind, scope, metric, *point in connection.execute(query + " ORDER BY r.seq", parameters):
        series.setdefault((kind, scope, metric), []).append(Point(*point))
    return series


def run_count(connection: sqlite3.Connection, release: str) -> int:
    return int(connection.execute("SELECT COUNT(*) FROM runs WHERE release = ?", (release,)).fetchone()[0])
