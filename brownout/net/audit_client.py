"""The `client` a locustfile's read-back function gets (`brownout.AuditClient`): an HTTP session on the target."""

from __future__ import annotations

from typing import Any

import requests

from brownout.net.loopback import prepare


class AuditClient(requests.Session):
    """A requests.Session on the target: `client.get("/records/7")` goes to `<host>/records/7`.

    Every request gets a timeout (10 s unless given); a loopback host is never reached through an HTTP
    proxy from the environment (HTTP_PROXY), so nothing meant for 127.0.0.1, a token least of all,
    leaves the machine.
    """

    def __init__(self, base_url: str, timeout_s: float = 10.0, token: str | None = None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        prepare(self, base_url, token)  # the one loopback rule, and the token if any

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        if text.startswith("/"):
            text = self.base_url + text
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, text, *args, **kwargs)
