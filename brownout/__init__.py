"""brownout: a load and degradation testbed built on Locust.

What a locustfile uses (loaded on first use: importing `brownout` alone never imports Locust, whose
gevent monkey-patching must come first in a Locust process and nowhere else):

    brownout.acknowledge(environment, kind, id)   # the service acknowledged a write of `kind` ("records")
    @brownout.audit(kind)                         # def read_back(client, ids) -> the ids found, after the heal
    brownout.record_stream(environment, gaps=, duplicates=)
    brownout.ScenarioShape                        # the scenario's load shape (plain `locust -f` runs)
    brownout.AuditClient                          # the type of a read-back function's `client`

Using `acknowledge`, `record_stream` or `ScenarioShape` registers brownout's Locust plugin; `brownout run`
loads it with any locustfile anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brownout.scenario.audit import audit
from brownout.version import __version__

if TYPE_CHECKING:
    from brownout.net.audit_client import AuditClient
    from brownout.plugin.hooks import ScenarioShape, acknowledge, record_stream

_LAZY = {
    "acknowledge": "brownout.plugin.hooks",
    "record_stream": "brownout.plugin.hooks",
    "ScenarioShape": "brownout.plugin.hooks",
    "AuditClient": "brownout.net.audit_client",
}

__all__ = ["AuditClient", "ScenarioShape", "__version__", "acknowledge", "audit", "record_stream"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'brownout' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
