"""Which of the target's metrics the checks read: a scenario's [metrics] table over the sample's names.

```toml
[metrics]
breaker_state = "myapp_circuit_state"          # a gauge per dependency; `breaker_open_value` means open
breaker_open_value = 2
breaker_transitions = "myapp_circuit_changes_total"   # a counter labelled with the state it went to
retry_attempts = "myapp_retries_total"         # counters per dependency: retry amplification = attempts / calls
dependency_calls = "myapp_calls_total"
fallbacks = "myapp_fallbacks_total"
outbox_depth = "myapp_queue_depth"             # a gauge: backlog and drain time after a heal
dependency_label = "service"                   # the label naming the dependency (default "dependency")
transition_label = "to"                        # the label naming the state a transition went to
open_state = "open"                            # its value for "opened"
```
Checks are pure functions of the history, so they read this table from the manifest's scenario copy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from brownout.errors import InputError
from brownout.history import History


@dataclass(frozen=True)
class MetricNames:
    breaker_state: str = "gateway_breaker_state"
    breaker_open_value: float = 1.0
    breaker_transitions: str = "gateway_breaker_transitions_total"
    retry_attempts: str = "gateway_retry_attempts_total"
    dependency_calls: str = "gateway_dependency_calls_total"
    fallbacks: str = "gateway_fallbacks_total"
    outbox_depth: str = "gateway_outbox_depth"
    dependency_label: str = "dependency"
    transition_label: str = "to"
    open_state: str = "open"

    @property
    def mapped(self) -> bool:
        """Whether the scenario named any metric itself (else the sample target's names are guesses)."""
        return self != MetricNames()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], source: str = "[metrics]") -> MetricNames:
        if not isinstance(mapping, Mapping):
            raise InputError(f"{source}: [metrics] must be a table, got {type(mapping).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in known:
                raise InputError(f"{source}: metrics.{key}: unknown field (known: {', '.join(known)})")
            if known[key].type == "float":
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    raise InputError(f"{source}: metrics.{key}: expected a number, got {value!r}")
                values[key] = float(value)
            elif not isinstance(value, str) or not value.strip():
                raise InputError(f"{source}: metrics.{key}: expected a metric or label name, got {value!r}")
            else:
                values[key] = value.strip()
        return cls(**values)


def metric_names(history: History) -> MetricNames:
    """The [metrics] table of the run's scenario copy (validated when the scenario was read)."""
    table = history.manifest.scenario.get("metrics") or {}
    source = f"{history.directory or '.'}/manifest.json scenario.metrics"
    return MetricNames.from_mapping(table, source=source)


def missing_metric(names: MetricNames, what: str, metric: str) -> str:
    """Why a check that needs a metric cannot answer, in words a user of any service can act on."""
    if names.mapped:
        return f"the target exposes no {metric} (the {what} metric named under [metrics])"
    return f"the target exposes no {what} metric ({metric}): map one under [metrics]"
