"""`http` faults: any HTTP request at inject and (optionally) another at heal."""

from __future__ import annotations

from brownout.faults.drivers.base import call
from brownout.faults.kinds import HttpParams, HttpRequestSpec
from brownout.net.loopback import session_for


class HttpDriver:
    def __init__(self, params: HttpParams, fault_name: str) -> None:
        self.params = params
        self.fault_name = fault_name
        self._session = session_for(params.inject.url)

    def _send(self, request: HttpRequestSpec, step: str) -> None:
        call(
            self._session,
            request.method,
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=self.params.timeout_s,
            what=f"{step} fault {self.fault_name!r}",
        )

    def inject(self) -> None:
        self._send(self.params.inject, "inject")

    def heal(self) -> None:
        if self.params.heal is not None:
            self._send(self.params.heal, "heal")
