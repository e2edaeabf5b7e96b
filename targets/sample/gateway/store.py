"""The gateway's SQLite store (WAL): schema, one connection, short write transactions.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gevent.lock import RLock

from targets.sample.gateway.faults import AppFaults, InjectedFault
from targets.sample.gateway.resilience import RetryableError, RetryTransientErrors

_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL,
    seq INTEGER NOT NULL, reply_to TEXT, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_reply_to ON messages (reply_to);
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, seq);
CREATE TABLE IF NOT EXISTS events (
    thread_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (thread_id, seq));
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, delivered_at REAL);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, created_at);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, state TEXT NOT NULL, partial TEXT,
    status INTEGER, body TEXT, headers TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_runs (
    id TEXT PRIMARY KEY, thread_id TEXT, status TEXT NOT NULL, steps TEXT NOT NULL,
    degraded INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_artifacts (
    run_id TEXT PRIMARY KEY, thread_id TEXT, content TEXT NOT NULL, created_at REAL NOT NULL);
"""


class StoreUnavailable(Exception):
    """The store cannot serve right now (injected fault, locked or broken database)."""


class StoreBusy(RetryableError):
    """Another process holds the database's write lock; worth another try shortly."""


def retry_while_locked(deadline_s: float = 2.0) -> RetryTransientErrors:
    return RetryTransientErrors("store", attempts=1000, deadline_s=deadline_s, initial_wait_s=0.01, max_wait_s=0.2)


class Store:
    def __init__(self, path: Path, faults: AppFaults, write_retry: RetryTransientErrors | None = None) -> None:
        self.path = path
        self._faults = faults
        self._lock = RLock()
        self._write_retry = write_retry or retry_while_locked()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=5.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._conn.execute("PRAGMA busy_timeout = 0")  # from now on: never wait inside C (see above)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception. Never yield to the network inside."""
        try:
            self._write_retry.execute(self._begin)
        except StoreBusy as exc:
            raise StoreUnavailable(f"store: {exc}; gave up after {self._write_retry.deadline_s:g} s") from None
        try:
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreUnavailable(f"store: commit failed: {exc}") from None
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
