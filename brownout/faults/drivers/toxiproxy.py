"""`network` faults through the Toxiproxy HTTP API (brownout's fault proxy or a real Toxiproxy).

A toxic: POST /proxies/<proxy>/toxics to add, DELETE /proxies/<proxy>/toxics/<name> to remove.
Down: POST /proxies/<proxy> {"enabled": false} / {"enabled": true}.
"""

from __future__ import annotations

from urllib.parse import quote

import requests

from brownout.errors import FaultError
from brownout.faults.drivers.base import Evidence, call
from brownout.faults.drivers.traffic import Reading, at_inject, in_window, read_traffic
from brownout.faults.kinds import NetworkParams
from brownout.net.loopback import session_for


class ToxiproxyDriver:
    def __init__(
        self,
        api_url: str,
        params: NetworkParams,
        fault_name: str,
        token: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        # A real Toxiproxy has no auth and ignores the header; brownout's fault proxy wants it.
        self.token = token
        self.params = params
        self.fault_name = fault_name
        # The toxic is named after the fault so heal removes exactly what inject added.
        self.toxic_name = f"brownout-{fault_name}"
        self.timeout_s = timeout_s
        self._session = session_for(api_url, token)
        self._before: Reading | str | None = None  # the proxy's counters at this window's inject

    @property
    def _proxy_url(self) -> str:
        return f"{self.api_url}/proxies/{quote(self.params.proxy, safe='')}"

    def _toxic_body(self) -> dict[str, object]:
        return {
            "name": self.toxic_name,
            "type": self.params.toxic,
            "stream": self.params.stream,
            "toxicity": self.params.toxicity,
            "attributes": dict(self.params.attributes),
        }

    def _set_enabled(self, enabled: bool, step: str) -> None:
        response = call(
            self._session,
            "POST",
            self._proxy_url,
            json={"enabled": enabled},
            timeout=self.timeout_s,
            accept=(404,),
            what=f"{step} fault {self.fault_name!r} ({'enable' if enabled else 'disable'} proxy {self.params.proxy!r})",
        )
        if response.status_code == 404:
            raise FaultError(
                f"cannot {step} fault {self.fault_name!r}: the fault proxy at {self.api_url} "
                f"has no proxy named {self.params.proxy!r} (set `proxy` to one it has)"
            )

    def inject(self) -> Evidence:
        """Read the proxy's counters (the evidence), then break it."""
        self._before = read_traffic(self._session, self.api_url, self.params.proxy)
        if self.params.down:
            self._set_enabled(False, "inject")
        else:
            self._add_toxic_for_inject()
        return at_inject(self.params.proxy, self._before)

    def _add_toxic_for_inject(self) -> None:
        what = f"inject fault {self.fault_name!r} (add a {self.params.toxic} toxic to proxy {self.params.proxy!r})"
        response = self._add_toxic(what, accept=(404, 409))
        if response.status_code == 404:
            raise FaultError(
                f"cannot {what}: the fault proxy at {self.api_url} has no proxy named "
                f"{self.params.proxy!r} (set `proxy` to one it has)"
            )
        if response.status_code == 409:
            # Left over from an interrupted run: replace it so the attributes are this scenario's.
            self._remove_toxic("inject")
            self._add_toxic(what)

    def _add_toxic(self, what: str, accept: tuple[int, ...] = ()) -> requests.Response:
        return call(
            self._session,
            "POST",
            f"{self._proxy_url}/toxics",
            json=self._toxic_body(),
            timeout=self.timeout_s,
            accept=accept,
            what=what,
        )

    def _remove_toxic(self, step: str) -> None:
        call(
            self._session,
            "DELETE",
            f"{self._proxy_url}/toxics/{quote(self.toxic_name, safe='')}",
            timeout=self.timeout_s,
            accept=(404,),
            what=f"{step} fault {self.fault_name!r} (remove toxic {self.toxic_name!r} "
            f"from proxy {self.params.proxy!r})",
        )

    def heal(self) -> Evidence | None:
        """Read what the proxy carried during the window (before healing, which lets traffic back), then heal."""
        before, self._before = self._before, None
        found = None
        if before is not None:
            found = in_window(before, read_traffic(self._session, self.api_url, self.params.proxy))
        if self.params.down:
            self._set_enabled(True, "heal")
        else:
            self._remove_toxic("heal")
        return found
