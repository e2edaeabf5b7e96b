"""Is a component ready? One bounded HTTP GET (2xx) or, without a readiness URL, one TCP connect."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit


def is_ready(url: str | None, port: int, timeout_s: float = 0.5) -> bool:
    if url is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout_s):
                return True
        except OSError:
            return False
    parts = urlsplit(url)
    # http.client, not requests/urllib: those honour HTTP_PROXY, and a probe must never leave loopback.
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout_s
    )
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else "") or "/")
        return 200 <= connection.getresponse().status < 300
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
