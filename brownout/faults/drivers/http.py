"""`http` faults: any HTTP request at inject and (optionally) another at heal."""

from __future__ import annotations

from brownout.faults.drivers.base import Evidence, answer_evidence, call
from brownout.faults.kinds import HttpParams, HttpRequestSpec
from brownout.net.loopback import session_for


class HttpDriver:
    def __init__(self, params: HttpParams, fault_name: str) -> None:
        self.params = params
        self.fault_name = fault_name
        self._session = session_for(params.inject.url)

    def _send(self, request: HttpRequestSpec, step: str) -> Evidence:
        response = call(
            self._session,
            request.method,
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=self.params.timeout_s,
            what=f"{step} fault {self.fault_name!r}",
        )
        return {step: answer_evidence(response)}

    def inject(self) -> Evidence:
        return self._send(self.params.inject, "inject")

    def heal(self) -> Evidence | None:
        return None if self.params.heal is None else self._send(self.params.heal, "heal")
