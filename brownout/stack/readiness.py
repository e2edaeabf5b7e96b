"""Is a component ready? One bounded HTTP GET (2xx), one TCP connect, or one run of a command (exit 0)."""

from __future__ import annotations

import http.client
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
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


class ReadyCommandMissing(Exception):
    """The readiness command's program does not exist (yet: the component may be what installs it)."""


def command_says_ready(argv: tuple[str, ...], *, env: Mapping[str, str], cwd: Path, timeout_s: float = 5.0) -> bool:
    """Run argv once (output discarded); ready when it exits 0 within timeout_s. ReadyCommandMissing when
    argv[0] cannot be found.

    A port that accepts connections is not always a service that answers: PostgreSQL accepts them while it
    still says "the database system is starting up", which its own `pg_isready` tells apart.
    """
    try:
        result = subprocess.run(
            list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, timeout=timeout_s, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise ReadyCommandMissing(f"{argv[0]!r} not found (PATH={env.get('PATH', '')})") from None
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0
