"""What every driver is, and the one HTTP call helper they share (sessions, with the token: `brownout.net.loopback`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import requests

from brownout.errors import FaultError

# What a driver saw of the thing it acted on: JSON-ready, merged into the fault's faults.csv `evidence`
# (inject's keys, then heal's). {"unknown": why} when it could not tell whether the fault reached anything.
Evidence = dict[str, Any]
BODY_HEAD = 200  # characters of an answer kept as evidence


class Driver(Protocol):
    """Breaks one thing (`inject`) and puts it back (`heal`), each returning its Evidence (or None). `heal`
    is idempotent: calling it twice, or without a successful inject, leaves the thing healthy and raises
    nothing for "already healthy"."""

    def inject(self) -> Evidence | None: ...

    def heal(self) -> Evidence | None: ...


def answer_evidence(response: requests.Response) -> Evidence:
    """An HTTP answer as evidence: its status and the head of its body."""
    return {"status": response.status_code, "body": response.text[:BODY_HEAD]}


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return str(body)[:200]


def call(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    json: Any = None,
    data: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    timeout: float = 10.0,
    accept: Iterable[int] = (),
) -> requests.Response:
    """One HTTP call that either succeeds (2xx or a status in `accept`) or raises an actionable FaultError.

    `what` says what the call was for ("add toxic 'slow' to proxy 'upstream' at http://..."), so the
    message tells the user where to look.
    """
    try:
        response = session.request(method, url, json=json, data=data, headers=dict(headers), timeout=timeout)
    except requests.ConnectionError:
        raise FaultError(f"cannot {what}: nothing answers at {url} (is it running? check the URL)") from None
    except requests.Timeout:
        raise FaultError(f"cannot {what}: {url} did not answer within {timeout:g}s") from None
    except requests.RequestException as exc:
        raise FaultError(f"cannot {what}: {exc}") from None
    if response.ok or response.status_code in set(accept):
        return response
    hint = ""
    if response.status_code in (401, 403):
        hint = " (check the token: --token / BROWNOUT_TOKEN or the stack's stack.json)"
    raise FaultError(f"cannot {what}: {method} {url} answered {response.status_code}: {_error_text(response)}{hint}")
