"""Reading acknowledged writes back after the heal: Jepsen's final read, through the service's normal API.

In a locustfile, a user tells brownout about every write the service acknowledged, of any kind it likes,
and one function per kind reads them back once the faults are healed:

    import brownout

    class RecordUser(HttpUser):
        @task
        def create(self):
            response = self.client.post("/records", json={...})
            if response.status_code == 201:
                brownout.acknowledge(self.environment, "records", response.json()["id"])

    @brownout.audit("records")
    def read_back(client, ids):
        return [i for i in ids if client.get(f"/records/{i}").status_code == 200]

`client` is a `brownout.AuditClient` (a requests.Session on the target's host: relative URLs, a timeout, never an
HTTP proxy for loopback); `ids` the kind's acknowledged ids, each once. The function returns the ids it
found: an acknowledged id not returned is lost, one returned twice is duplicated, ids nobody acknowledged
are ignored (a write whose answer was lost may well have happened). An exception leaves the kind unverifiable.

The scenario's optional `[audit]` table says when to read back and whether to use an HTTP audit endpoint
(the sample target's `POST /admin/audit` for the kinds `messages` and `workflows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brownout.inputs import TomlTable

if TYPE_CHECKING:  # requests stays out of the scenario's imports (Locust must gevent-patch ssl first)
    from brownout.net.audit_client import AuditClient

ReadBack = Callable[["AuditClient", list[str]], Iterable[str]]

HTTP_AUDIT_KINDS = ("messages", "workflows")  # what the sample's POST /admin/audit reads back
DEFAULT_ENDPOINT = "/admin/audit"
DEFAULT_READY_TIMEOUT_S = 30.0

_read_backs: dict[str, ReadBack] = {}


def audit(kind: str) -> Callable[[ReadBack], ReadBack]:
    """Register the function that reads acknowledged writes of `kind` back (one per kind)."""
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"brownout.audit: the kind must be a non-empty string, got {kind!r}")

    def register(function: ReadBack) -> ReadBack:
        known = _read_backs.get(kind)
        if known is not None and _qualname(known) != _qualname(function):
            raise ValueError(
                f"brownout.audit({kind!r}): {_qualname(function)} would replace {_qualname(known)}; "
                "one read-back function per kind"
            )
        _read_backs[kind] = function
        return function

    return register


def read_back_for(kind: str) -> ReadBack | None:
    return _read_backs.get(kind)


def _qualname(function: Any) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


@dataclass(frozen=True)
class AuditSettings:
    """The scenario's `[audit]` table.

    ready: GET this path (on the host) or URL until it answers 200 before reading back; None: the stack
    entry's own HTTP readiness path, or with [target] until the host answers at all.
    endpoint: the HTTP audit endpoint's path on the admin API, used for kinds without a read-back function
    (the sample's contract: `messages`, `workflows`); "" turns it off.
    """

    ready: str | None = None
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
    endpoint: str = DEFAULT_ENDPOINT


def read_audit_settings(table: TomlTable | None) -> AuditSettings:
    if table is None:
        return AuditSettings()
    table.only("ready", "ready_timeout", "endpoint")
    ready = table.string("ready")
    if ready is not None and ready and not ready.startswith(("/", "http://", "https://")):
        raise table.error("ready", f"must be a path (/readyz) or an http:// URL, got {ready!r}")
    endpoint = table.string("endpoint", default=DEFAULT_ENDPOINT)
    if endpoint and not endpoint.startswith("/"):
        raise table.error("endpoint", f'must be a path on the admin API ("/admin/audit") or "", got {endpoint!r}')
    timeout = table.duration("ready_timeout")
    table.finish()
    return AuditSettings(
        ready=ready or None,
        ready_timeout_s=DEFAULT_READY_TIMEOUT_S if timeout is None else timeout,
        endpoint=endpoint or "",
    )
