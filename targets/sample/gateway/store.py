"""The gateway's store: the interface every part of the gateway uses, and its SQLite (WAL) implementation.

`store.write(work)` runs `work(conn)` in one transaction (committed, or rolled back on any exception) and
answers what it answers; `work` may run more than once (a store may retry a transaction that surely did not
commit), so it must do nothing but SQL. `store.query` reads. Both raise StoreUnavailable (503) when the store
cannot serve. SQL is written once for both stores: `?` parameters and the subset of SQL they share.
PostgreSQL: store_postgres.py.

SQLite:
Every greenlet shares one connection. A write transaction never yields between BEGIN and COMMIT (no network
call inside), so greenlets cannot interleave inside one; a gevent lock orders them anyway, and injected store
faults (latency, errors) are applied while holding that lock, before BEGIN, which is what a database lock
looks like to the callers.

SQLite's own busy wait is off: it sleeps inside C, which under gevent freezes the whole process (every
read, every stream, /healthz) while another process holds the database lock. Instead a write that finds the
database locked gives the connection back, sleeps cooperatively and tries again (tenacity, with a deadline),
then fails cleanly with StoreUnavailable (503); reads go on meanwhile, as WAL allows.

Durability: WAL with synchronous=NORMAL. A commit survives the gateway process being killed (the WAL is in
the OS cache); only a power loss could drop the last commits, which this testbed does not simulate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from gevent.lock import RLock

from targets.sample.gateway.faults import AppFaults, InjectedFault
from targets.sample.gateway.resilience import RetryableError, RetryTransientErrors

# One schema for both stores: {real} is a float column type (PostgreSQL's {real} is too coarse for epoch seconds).
SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY, created_at {real} NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL,
    seq INTEGER NOT NULL, reply_to TEXT, created_at {real} NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_reply_to ON messages (reply_to);
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, seq);
CREATE TABLE IF NOT EXISTS events (
    thread_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
    created_at {real} NOT NULL, PRIMARY KEY (thread_id, seq));
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, created_at {real} NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, delivered_at {real});
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, created_at);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, state TEXT NOT NULL, partial TEXT,
    status INTEGER, body TEXT, headers TEXT, created_at {real} NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_runs (
    id TEXT PRIMARY KEY, thread_id TEXT, status TEXT NOT NULL, steps TEXT NOT NULL,
    degraded INTEGER NOT NULL DEFAULT 0, created_at {real} NOT NULL, updated_at {real} NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, created_at {real} NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_artifacts (
    run_id TEXT PRIMARY KEY, thread_id TEXT, content TEXT NOT NULL, created_at {real} NOT NULL);
"""


T = TypeVar("T")


class Row(Protocol):
    """A result row: by column name or position (sqlite3.Row, or the PostgreSQL store's)."""

    def __getitem__(self, key: int | str) -> Any: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...


class Connection(Protocol):
    """What `work` gets inside a transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class Store(Protocol):
    kind: str

    def write(self, work: Callable[[Connection], T]) -> T: ...

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]: ...

    def query_one(self, sql: str, params: tuple[Any, ...] = ()) -> Any | None: ...

    def is_usable(self) -> bool: ...

    def close(self) -> None: ...


class StoreUnavailable(Exception):
    """The store cannot serve right now (injected fault, locked or broken database)."""


class StoreBusy(RetryableError):
    """Another process holds the database's write lock; worth another try shortly."""


def retry_while_locked(deadline_s: float = 2.0) -> RetryTransientErrors:
    return RetryTransientErrors("store", attempts=1000, deadline_s=deadline_s, initial_wait_s=0.01, max_wait_s=0.2)


class SqliteStore:
    kind = "sqlite"

    def __init__(self, path: Path, faults: AppFaults, write_retry: RetryTransientErrors | None = None) -> None:
        self.path = path
        self._faults = faults
        self._lock = RLock()
        self._write_retry = write_retry or retry_while_locked()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=5.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA.format(real="REAL"))
        self._conn.execute("PRAGMA busy_timeout = 0")  # from now on: never wait inside C (see above)

    def write(self, work: Callable[[Connection], T]) -> T:
        """BEGIN IMMEDIATE, work, COMMIT; rolled back on any exception. `work` never yields to the network."""
        try:
            self._write_retry.execute(self._begin)
        except StoreBusy as exc:
            raise StoreUnavailable(f"store: {exc}; gave up after {self._write_retry.deadline_s:g} s") from None
        try:
            try:
                result = work(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreUnavailable(f"store: commit failed: {exc}") from None
            return result
        finally:
            self._lock.release()

    def _begin(self) -> None:
        """One attempt: take the connection and BEGIN IMMEDIATE, or hand the connection back and raise."""
        self._lock.acquire()
        try:
            self._apply_faults()
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self._lock.release()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusy(f"the database is locked by another process ({exc})") from None
            raise StoreUnavailable(f"store: cannot begin a transaction: {exc}") from None
        except BaseException:
            self._lock.release()
            raise

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._apply_faults()
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(f"store: {exc}") from None

    def query_one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def is_usable(self) -> bool:
        try:
            self.query("SELECT 1")
        except StoreUnavailable:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _apply_faults(self) -> None:
        try:
            self._faults.apply("store")
        except InjectedFault as exc:
            raise StoreUnavailable(str(exc)) from None
