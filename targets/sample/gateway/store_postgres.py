"""The gateway's PostgreSQL store, a dependency like the upstream and the notifier.

Driver: pg8000, pure Python over the standard socket module, so gevent's monkey patching makes every wait
cooperative and its socket timeout bounds every read. (psycopg 3 cooperates too, but only when it is first
imported after `patch_all()`: it picks its wait function at import time, and its C one blocks the whole
process. bench/bench_postgres.py measures both.)

Every store call goes through the same policies as the HTTP dependencies, outermost first: tenacity retries
(`RetryTransientErrors("store")`), a breaker (`OpenCircuitAfterFailures("store")`), a per-attempt timeout
(`GiveUpAfter`), and inside the attempt a bounded connection pool whose wait is short: when PostgreSQL
stalls, requests fail fast instead of queueing behind it. Metrics carry `dependency="store"`.

What is retried: reads, and write transactions that surely did not commit (every failure before COMMIT
was sent: the server rolls the transaction back when the connection dies). A failure *during* COMMIT is
ambiguous (it may have committed), so it is never retried here: the request answers 503 and the client's
retry, under its Idempotency-Key, finds what was committed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import gevent
import pg8000.native
from gevent.lock import BoundedSemaphore
from pg8000.dbapi import convert_paramstyle
from pg8000.exceptions import DatabaseError, InterfaceError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from targets.sample.gateway import metrics
from targets.sample.gateway.config import PostgresSettings
from targets.sample.gateway.faults import AppFaults, InjectedFault
from targets.sample.gateway.resilience import (
    CallTimedOut,
    DependencyError,
    GiveUpAfter,
    OpenCircuitAfterFailures,
    RejectedByDependency,
    RetryableError,
    RetryTransientErrors,
    compose,
)
from targets.sample.gateway.store import SCHEMA, Connection, StoreUnavailable

T = TypeVar("T")
log = logging.getLogger("gateway.store")

# SQLSTATE classes worth another attempt: connection exception, transaction rollback (serialization,
# deadlock), insufficient resources (too many connections), operator intervention (shutdown, starting up,
# statement timeout), system error; and a lock wait that timed out.
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_CODES = ("55P03",)
_STARTUP_DEADLINE_S = 30.0


class PoolExhausted(RetryableError):
    """Every pooled connection is busy (a slow or frozen database): fail fast rather than queue."""


class CommitOutcomeUnknown(DependencyError):
    """The connection failed while COMMIT was in flight: the transaction may or may not have committed."""


class StoreRejected(RejectedByDependency):
    """PostgreSQL refused the statement itself (a bug, not an outage): not retried, not a breaker failure."""


class PgRow:
    """A result row by column name or position, like sqlite3.Row."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key]] if isinstance(key, str) else self._values[key]

    def __len__(self) -> int:
        return len(self._values)


class PgResult:
    """What `execute` answers: the rows and the affected-row count (a DB-API cursor's surface we use)."""

    def __init__(self, rows: list[PgRow], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> PgRow | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[PgRow]:
        return self.rows


def run_sql(conn: pg8000.native.Connection, sql: str, params: Sequence[Any] = ()) -> PgResult:
    """One statement with `?` parameters (the SQL the SQLite store also runs)."""
    if params:
        statement, values = convert_paramstyle("qmark", sql, tuple(params))
        context = conn.execute_unnamed(statement, vals=values)
    else:
        context = conn.execute_unnamed(sql)
    index = {column["name"]: i for i, column in enumerate(context.columns or [])}
    rows = [PgRow(row, index) for row in (context.rows or [])]
    return PgResult(rows, context.row_count)


class _InTransaction:
    """The `conn` a write's work gets."""

    def __init__(self, conn: pg8000.native.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgResult:
        return run_sql(self._conn, sql, params)


class ConnectionPool:
    """At most `size` connections; a caller waits up to `wait_s` for one, then PoolExhausted.

    A connection that an error or a timeout interrupted is closed and never reused (its protocol state is
    unknown), and never rolled back over the network first: on a frozen server that would hang again.
    Hand-written rather than psycopg_pool's for that reason (it rolls back returned connections).
    """

    def __init__(self, connect: Callable[[], pg8000.native.Connection], size: int, wait_s: float) -> None:
        self.size = size
        self.wait_s = wait_s
        self._connect = connect
        self._slots = BoundedSemaphore(size)
        self._idle: list[pg8000.native.Connection] = []

    @property
    def in_use(self) -> int:
        return self.size - self._slots.counter

    @contextlib.contextmanager
    def connection(self) -> Iterator[pg8000.native.Connection]:
        if not self._slots.acquire(timeout=self.wait_s):
            metrics.BULKHEAD_REJECTIONS.labels("store").inc()
            raise PoolExhausted(f"store: all {self.size} connections busy for {self.wait_s:g} s (pool exhausted)")
        conn = None
        try:
            conn = self._idle.pop() if self._idle else self._connect()
            yield conn
        except BaseException:
            if conn is not None:
                _close_quietly(conn)
            conn = None
            raise
        finally:
            if conn is not None:
                self._idle.append(conn)
            self._slots.release()

    def discard_idle(self) -> int:
        """Close every idle connection (after a network failure they are most likely broken as well: each
        would otherwise fail one request, or one breaker trial, before the pool is clean)."""
        stale, self._idle = self._idle, []
        for conn in stale:
            _close_quietly(conn)
        return len(stale)

    def fill(self) -> None:
        """Open every connection now, so the first burst of requests does not wait for server forks."""
        for _ in range(self.size - len(self._idle)):
            try:
                self._idle.append(self._connect())
            except (InterfaceError, DatabaseError, OSError) as exc:  # best effort: requests connect lazily
                log.warning("store: could not pre-open every pooled connection: %s", exc)
                return

    def close(self) -> None:
        while self._idle:
            _close_quietly(self._idle.pop())


def _close_quietly(conn: pg8000.native.Connection) -> None:
    with gevent.Timeout(0.1, False), contextlib.suppress(Exception):
        conn.close()
    with contextlib.suppress(Exception):
        conn._usock.close()  # close() may have stopped before its socket (broken or frozen peer)


def _connector(settings: PostgresSettings) -> Callable[[], pg8000.native.Connection]:
    parts = urlsplit(settings.url)
    kwargs: dict[str, Any] = {
        "user": unquote(parts.username or "postgres"),
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/") or None,
        "password": unquote(parts.password) if parts.password else None,
        "timeout": settings.timeout_s,  # socket timeout: bounds connect and every read
        "application_name": "brownout-sample-gateway",
        # The server gives up too, shortly before the client does: a lock wait or a statement whose client
        # timed out and left would otherwise hold its locks on, and every later transaction would queue.
        "startup_params": {
            "statement_timeout": str(int(settings.timeout_s * 750)),
            "lock_timeout": str(int(settings.timeout_s * 500)),
            "idle_in_transaction_session_timeout": str(int(settings.timeout_s * 1000)),
        },
    }

    def connect() -> pg8000.native.Connection:
        return pg8000.native.Connection(**kwargs)

    return connect


def _classified(exc: Exception) -> Exception:
    """A driver error as a resilience error: retryable, or rejected (not the dependency's failure)."""
    if isinstance(exc, DatabaseError):
        fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        code, message = str(fields.get("C", "")), str(fields.get("M", exc))
        if code[:2] in _TRANSIENT_CLASSES or code in _TRANSIENT_CODES:
            return RetryableError(f"store: PostgreSQL {code}: {message}")
        return StoreRejected(f"store: PostgreSQL {code}: {message}")
    return RetryableError(f"store: {type(exc).__name__}: {exc}")


class PostgresStore:
    kind = "postgres"

    def __init__(self, settings: PostgresSettings, faults: AppFaults) -> None:
        self.settings = settings
        self._faults = faults
        self._pool = ConnectionPool(_connector(settings), settings.pool_size, settings.pool_timeout_s)
        self.breaker = OpenCircuitAfterFailures(
            "store", settings.breaker_fail_max, settings.breaker_reset_timeout_s
        )
        retry = RetryTransientErrors(
            "store",
            attempts=settings.retry_attempts,
            deadline_s=settings.retry_deadline_s,
            initial_wait_s=settings.retry_initial_wait_s,
            max_wait_s=settings.retry_max_wait_s,
        )
        give_up = GiveUpAfter("store", settings.timeout_s)
        self._policy = compose(retry, self.breaker, give_up)
        self._last_failure_log: dict[str, float] = {}
        self._one_attempt = compose(RetryTransientErrors("store", attempts=1), self.breaker, give_up)
        self._create_schema()

    # ---- the Store interface ------------------------------------------------------------------------

    def write(self, work: Callable[[Connection], T]) -> T:
        return self._call(self._policy, lambda: self._transaction(work))

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[PgRow]:
        return self._call(self._policy, lambda: self._read(sql, params))

    def query_one(self, sql: str, params: tuple[Any, ...] = ()) -> PgRow | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def is_usable(self) -> bool:
        """One quick attempt, no retries: what /readyz reports."""
        try:
            self._call(self._one_attempt, lambda: self._read("SELECT 1", ()))
        except StoreUnavailable:
            return False
        return True

    def close(self) -> None:
        self._pool.close()

    # ---- one attempt --------------------------------------------------------------------------------

    def _call(self, policy: Any, attempt: Callable[[], T]) -> T:
        try:
            result: T = policy.execute(lambda: self._translated(attempt))
        except DependencyError as exc:
            metrics.DEPENDENCY_CALLS.labels("store", "error").inc()
            self._log_failure(exc, "call")
            raise StoreUnavailable(str(exc)) from None
        finally:
            metrics.STORE_POOL_IN_USE.set(self._pool.in_use)
        metrics.DEPENDENCY_CALLS.labels("store", "ok").inc()
        return result

    def _log_failure(self, exc: Exception, what: str) -> None:
        """At most one line a second of each: under a fault every request fails the same way."""
        now = time.monotonic()
        if now - self._last_failure_log.get(what, 0.0) >= 1.0:
            self._last_failure_log[what] = now
            log.warning("store %s failed (%d connections in use): %s", what, self._pool.in_use, exc)

    def _translated(self, attempt: Callable[[], T]) -> T:
        try:
            self._faults.apply("store")
        except InjectedFault as exc:
            raise RetryableError(str(exc)) from None
        try:
            return attempt()
        except (DatabaseError, InterfaceError, OSError) as exc:
            failure: Exception = _classified(exc)
            if not isinstance(exc, DatabaseError) or str(failure).startswith("store: PostgreSQL 57P"):
                self._pool.discard_idle()  # the link or the server went away: so did the idle connections
            self._log_failure(failure, "attempt")
            raise failure from None
        except DependencyError as exc:
            self._log_failure(exc, "attempt")
            raise

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[PgRow]:
        with self._pool.connection() as conn:
            return run_sql(conn, sql, params).rows

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        with self._pool.connection() as conn:
            run_sql(conn, "BEGIN")
            result = work(_InTransaction(conn))
            try:
                run_sql(conn, "COMMIT")
            except (InterfaceError, OSError, CallTimedOut) as exc:
                # No answer (an error answer, DatabaseError, means it did not commit): outcome unknown.
                raise CommitOutcomeUnknown(f"store: the connection failed during COMMIT ({exc})") from None
            return result

    def _create_schema(self) -> None:
        """At start, PostgreSQL may still be coming up or out of reach: keep trying for a while."""
        statements = [s.strip() for s in SCHEMA.format(real="DOUBLE PRECISION").split(";") if s.strip()]
        retrying = Retrying(
            retry=retry_if_exception_type(StoreUnavailable),  # anything else is a real error: raised at once
            stop=stop_after_delay(_STARTUP_DEADLINE_S),
            wait=wait_fixed(0.5),
            sleep=gevent.sleep,
            before_sleep=lambda state: log.warning(
                "store: cannot create the schema yet (%s); retrying", state.outcome and state.outcome.exception()
            ),
            reraise=True,  # the last StoreUnavailable itself, not tenacity's RetryError
        )
        retrying(self._create_schema_once, statements)

    def _create_schema_once(self, statements: list[str]) -> None:
        self.write(lambda conn: [conn.execute(statement) for statement in statements])
        self._pool.fill()
