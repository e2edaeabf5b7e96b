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

from dataclasses import dataclass
from pathlib import PurePath

from brownout.history import History
from brownout.inputs import TomlTable, declared


def _name(default: str) -> str:
    """A metric or label name."""
    return declared("string", default, strip=True)


@dataclass(frozen=True)
class MetricNames:
    breaker_state: str = _name("gateway_breaker_state")
    breaker_open_value: float = declared("number", 1.0, finite=True)
    breaker_transitions: str = _name("gateway_breaker_transitions_total")
    retry_attempts: str = _name("gateway_retry_attempts_total")
    dependency_calls: str = _name("gateway_dependency_calls_total")
    fallbacks: str = _name("gateway_fallbacks_total")
    outbox_depth: str = _name("gateway_outbox_depth")
    dependency_label: str = _name("dependency")
    transition_label: str = _name("to")
    open_state: str = _name("open")

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the checks read."""
        return (self.breaker_state, self.breaker_transitions, self.retry_attempts, self.dependency_calls,
                self.fallbacks, self.outbox_depth)  # fmt: skip

    @property
    def mapped(self) -> bool:
        """Whether the scenario named any metric itself (else the sample target's names are guesses)."""
        return self != MetricNames()

    @classmethod
    def from_mapping(cls, mapping: object, source: str = "[metrics]", where: str = "metrics") -> MetricNames:
        return TomlTable(mapping, file=source, where=where).read_into(cls)


def metric_names(history: History) -> MetricNames:
    """The [metrics] table of the run's scenario copy (validated when the scenario was read)."""
    table = history.manifest.scenario.get("metrics") or {}
    manifest = f"{history.directory or '.'}/manifest.json"
    return MetricNames.from_mapping(table, source=manifest, where="scenario.metrics")


# Where a user of another service reads how to map its metrics (README "Checks" has the same table).
MAPPING_GUIDE = 'README.md, "Your service\'s metrics" under "Checks"; docs/own-service.md#metrics'


def against_sample(history: History) -> bool:
    """Whether the run's target was the sample stack, from what the manifest records: no [target], no --host,
    and the sample's stack file (targets/sample/*.toml) or none (the default is the sample's)."""
    manifest = history.manifest
    if "target" in manifest.scenario or "--host" in manifest.command:
        return False
    stack = manifest.scenario.get("stack") or {}
    path = PurePath(str(stack.get("path") or "targets/sample/stack.toml"))
    return path.parent.name == "sample" and path.parent.parent.name == "targets"


def needs_mapping(history: History, names: MetricNames) -> bool:
    """The sample's metric names are only guesses here: the scenario mapped none and the target is another."""
    return not names.mapped and not against_sample(history)


def mapping_note(history: History) -> str | None:
    """The report's one note for a service whose metrics were not mapped (instead of the sample's names)."""
    names = metric_names(history)
    telemetry = history.telemetry
    found = telemetry is not None and bool(telemetry.metrics & set(names.metrics))
    if found or not needs_mapping(history, names):
        return None
    return (
        "detection and resilience need a metrics mapping: name your service's breaker, retry and outbox "
        f"metrics under [metrics] in the scenario (see {MAPPING_GUIDE})"
    )


def missing_metric(history: History, names: MetricNames, what: str, metric: str) -> str:
    """Why a check that needs a metric cannot answer, in words a user of any service can act on; the
    sample's metric names only for the sample (elsewhere the report's note says to map them)."""
    if names.mapped:
        return f"the target exposes no {metric} (the {what} metric named under [metrics])"
    if needs_mapping(history, names):
        return f"no {what} metric: the scenario maps none under [metrics] (see the report's note)"
    return f"the target exposes no {what} metric ({metric}): map one under [metrics]"
