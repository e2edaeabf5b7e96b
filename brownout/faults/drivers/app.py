"""`app` faults: an error rate / latency inside a gateway dependency client (admin API), or a DB lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from brownout.errors import FaultError
from brownout.faults.drivers.base import Evidence, answer_evidence, call
from brownout.faults.kinds import AppParams, DbLockParams
from brownout.net.loopback import session_for


class AdminFaultDriver:
    """PUT /admin/faults/<dependency> to inject, DELETE to heal (404 = nothing to heal)."""

    def __init__(self, admin_url: str, token: str | None, params: AppParams, fault_name: str) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.token = token
        self.params = params
        self.fault_name = fault_name
        self._session = session_for(admin_url, token)

    @property
    def _url(self) -> str:
        return f"{self.admin_url}/admin/faults/{quote(self.params.dependency, safe='')}"

    def inject(self) -> Evidence:
        body = {"error_rate": self.params.error_rate, "latency_ms": self.params.latency_ms}
        response = call(
            self._session,
            "PUT",
            self._url,
            json=body,
            what=f"inject fault {self.fault_name!r} (dependency {self.params.dependency!r} via the admin API)",
        )
        return {"inject": answer_evidence(response)}

    def heal(self) -> Evidence:
        response = call(
            self._session,
            "DELETE",
            self._url,
            accept=(404,),
            what=f"heal fault {self.fault_name!r} (dependency {self.params.dependency!r} via the admin API)",
        )
        return {"heal": answer_evidence(response)}


class DbLockDriver:
    """Holds `BEGIN EXCLUSIVE` on a SQLite file until heal, from a helper process (brownout.faults.dblock).

    A process rather than a thread, so that acquiring the lock never blocks a gevent-patched Locust.
    """

    def __init__(self, db_path: Path, params: DbLockParams, fault_name: str) -> None:
        self.db_path = Path(db_path)
        self.params = params
        self.fault_name = fault_name
        self._holder: subprocess.Popen[str] | None = None

    def inject(self) -> Evidence:
        if self._holder is not None and self._holder.poll() is None:
            return {"lock_holder_pid": self._holder.pid}
        if not self.db_path.is_file():
            raise FaultError(
                f"cannot inject fault {self.fault_name!r}: no database at {self.db_path} "
                f"(set `db_path`, or start the stack first)"
            )
        argv = [sys.executable, "-m", "brownout.faults.dblock", str(self.db_path),
                "--acquire-timeout", str(self.params.acquire_timeout_s)]  # fmt: skip
        holder = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "locked":
            _, err = holder.communicate(timeout=5)
            raise FaultError(f"cannot inject fault {self.fault_name!r}: {err.strip() or 'lock holder exited'}")
        self._holder = holder
        return {"lock_holder_pid": holder.pid}

    def heal(self) -> None:
        holder, self._holder = self._holder, None
        if holder is None or holder.poll() is not None:
            return
        try:
            holder.communicate(input="", timeout=10)  # closing stdin releases the lock
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait(timeout=5)
            raise FaultError(
                f"heal fault {self.fault_name!r}: the lock holder on {self.db_path} did not exit within 10s; killed"
            ) from None
