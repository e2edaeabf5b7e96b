"""`app` faults: an error rate / latency inside a gateway dependency client (admin API), or a DB lock."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from brownout.errors import FaultError
from brownout.faults.drivers.base import call, session_for
from brownout.faults.kinds import AppParams, DbLockParams


class AdminFaultDriver:
    """PUT /admin/faults/<dependency> to inject, DELETE to heal (404 = nothing to heal)."""

    def __init__(self, admin_url: str, token: str | None, params: AppParams, fault_name: str) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.token = token
        self.params = params
        self.fault_name = fault_name
        self._session = session_for(admin_url)

    @property
    def _url(self) -> str:
        return f"{self.admin_url}/admin/faults/{quote(self.params.dependency, safe='')}"

    def inject(self) -> None:
        body = {"error_rate": self.params.error_rate, "latency_ms": self.params.latency_ms}
        call(
            self._session,
            "PUT",
            self._url,
            json=body,
            token=self.token,
            what=f"inject fault {self.fault_name!r} (dependency {self.params.dependency!r} via the admin API)",
        )

    def heal(self) -> None:
        call(
            self._session,
            "DELETE",
            self._url,
            token=self.token,
            accept=(404,),
            what=f"heal fault {self.fault_name!r} (dependency {self.params.dependency!r} via the admin API)",
        )


class DbLockDriver:
    """Holds `BEGIN EXCLUSIVE` on a SQLite file from a thread of its own until heal.

    The connection lives and dies in that thread (sqlite3 objects must stay in their thread).
    """

    def __init__(self, db_path: Path, params: DbLockParams, fault_name: str) -> None:
        self.db_path = Path(db_path)
        self.params = params
        self.fault_name = fault_name
        self._holder: threading.Thread | None = None
        self._release = threading.Event()

    def _hold(self, acquired: threading.Event, failure: list[str]) -> None:
        try:
            connection = sqlite3.connect(
                str(self.db_path),
                timeout=self.params.acquire_timeout_s,
                isolation_level=None,
                check_same_thread=True,
            )
        except sqlite3.Error as exc:
            failure.append(f"cannot open {self.db_path}: {exc}")
            acquired.set()
            return
        try:
            connection.execute("BEGIN EXCLUSIVE")
        except sqlite3.Error as exc:
            failure.append(f"cannot lock {self.db_path} within {self.params.acquire_timeout_s:g}s: {exc}")
            connection.close()
            acquired.set()
            return
        acquired.set()
        try:
            self._release.wait()
        finally:
            connection.execute("ROLLBACK")
            connection.close()

    def inject(self) -> None:
        if self._holder is not None and self._holder.is_alive():
            return
        if not self.db_path.is_file():
            raise FaultError(
                f"cannot inject fault {self.fault_name!r}: no database at {self.db_path} "
                f"(set `db_path`, or start the stack first)"
            )
        self._release.clear()
        acquired = threading.Event()
        failure: list[str] = []
        self._holder = threading.Thread(
            target=self._hold, args=(acquired, failure), name=f"db-lock-{self.fault_name}", daemon=True
        )
        self._holder.start()
        acquired.wait(self.params.acquire_timeout_s + 5)
        if failure:
            raise FaultError(f"cannot inject fault {self.fault_name!r}: {failure[0]}")

    def heal(self) -> None:
        self._release.set()
        holder = self._holder
        if holder is not None:
            holder.join(timeout=10)
            if holder.is_alive():
                raise FaultError(
                    f"heal fault {self.fault_name!r}: the lock on {self.db_path} was not released within 10s"
                )
        self._holder = None
