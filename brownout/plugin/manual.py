"""A fault asked for by hand in the web UI's form: validated into a FaultSpec, or refused naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from brownout.errors import InputError
from brownout.faults.describe import describe_fault
from brownout.faults.kinds import (
    PARTITION_DIRECTIONS,
    AppParams,
    ComponentParams,
    FaultParams,
    PartitionParams,
    params_as_dict,
)
from brownout.net.auth import Refused as Refused  # the page's refusals and the auth checks' are one type
from brownout.plugin.form_fields import FORM_FIELDS, form_params, refuse_if_impossible
from brownout.plugin.target import Target
from brownout.scenario.schema import FaultSpec, Scenario

# What the hand-made form offers: kind -> (what it does, what the target names). The fields of each
# network and resource kind: brownout.plugin.form_fields.FORM_FIELDS.
MANUAL_KINDS: dict[str, tuple[str, str]] = {
    "network-down": ("proxy disabled: connections refused", "proxy"),
    "network-latency": ("latency toxic on the proxy (uniform jitter, or a distribution with a tail)", "proxy"),
    "network-http_error": ("matching HTTP requests answered with a status (e.g. 503 + Retry-After)", "proxy"),
    "network-http_latency": ("each matching HTTP request held before it is passed on", "proxy"),
    "network-http_drop": ("the connection cut mid-response for matching HTTP requests", "proxy"),
    "network-stall": ("random chunks held, as a retransmission would (loopback's packet loss)", "proxy"),
    "component-kill": ("SIGKILL; heal starts it again", "component"),
    "component-freeze": ("SIGSTOP; heal thaws it", "component"),
    "component-restart": ("stop + start; heal waits until ready", "component"),
    "app-errors": ("error rate / latency in a dependency client", "component"),
    "partition-isolate": ("every proxied edge of the component cut", "component"),
    "partition-between": ("the proxied edges between target and peer cut", "component"),
    "resource-cpu": ("CPU hogs pinned beside the component", "component"),
    "resource-memory": ("memory held beside the component, up to a limit", "component"),
    "resource-disk": ("the component's data directory's disk filled", "component"),
    "resource-clock": ("the component restarted with its clock offset (libfaketime)", "component"),
}
APP_DEPENDENCIES = ("upstream", "notifier", "store")


def describe_kind(kind: str, params: FaultParams | None) -> str:
    """The kind as the tab, the page and the report read it (brownout.faults.describe)."""
    return kind if params is None else describe_fault(kind, params_as_dict(params))


def manual_fault(scenario: Scenario, service: Target, fields: Mapping[str, str]) -> tuple[FaultSpec, str]:
    """The FaultSpec a form asks for (a copy of a scenario fault, or kind + target + params; its name
    still without the `manual-<n>-` prefix) and how the tab shows its kind; Refused(400) naming the
    field when the form is wrong."""
    kind = fields.get("kind", "").strip()
    if kind == "scenario":
        chosen = fields.get("fault", "").strip()
        spec = next((f for f in scenario.faults if f.name == chosen), None)
        if spec is None:
            offered = ", ".join(f.name for f in scenario.faults) or "none"
            raise Refused(400, f"field 'fault': the scenario has no fault {chosen!r} (it has: {offered})")
        copy = replace(spec, at_s=None, when_users=None,
                       planned_offset_s=0.0, description=f"by hand: {spec.name} now")  # fmt: skip
        return copy, describe_kind(spec.kind, spec.params)
    if kind not in MANUAL_KINDS:
        raise Refused(400, f"field 'kind': {kind!r} is not one of: scenario, {', '.join(MANUAL_KINDS)}")
    target = fields.get("target", "").strip()
    if not target:
        raise Refused(400, f"field 'target': name the {MANUAL_KINDS[kind][1]} to break")
    known = target_names(service)[MANUAL_KINDS[kind][1]]
    if known and target not in known:
        raise Refused(400, f"field 'target': no {MANUAL_KINDS[kind][1]} {target!r} (known: {', '.join(known)})")
    family, _, what = kind.partition("-")
    params = _partition(scenario, target, fields, kind) if family == "partition" else _params(kind, target, fields)
    refuse_if_impossible(params, service.endpoints.data_dir(target))
    spec = FaultSpec(index=-1, name=f"{target}-{what}", target=target, kind=family,
                     params=params, duration_s=0.0, description=f"by hand: {kind} on {target}")  # fmt: skip
    return spec, describe_kind(family, params)


def _params(kind: str, target: str, fields: Mapping[str, str]) -> FaultParams:
    if kind in FORM_FIELDS:
        return form_params(kind, target, fields)
    if kind.startswith("component-"):
        return ComponentParams(component=target, action=kind.removeprefix("component-"))
    dependency = fields.get("dependency", "upstream").strip() or "upstream"
    if dependency not in APP_DEPENDENCIES:
        raise Refused(400, f"field 'dependency': {dependency!r} is not one of: {', '.join(APP_DEPENDENCIES)}")
    error_rate = _number(fields, "error_rate", default=1.0)
    latency = _integer(fields, "app_latency_ms", default=0, minimum=0)
    if not error_rate and not latency:
        raise Refused(400, "field 'error_rate': give an error rate (0..1) and/or a latency, or it does nothing")
    return AppParams(dependency=dependency, error_rate=error_rate, latency_ms=latency)


def _partition(scenario: Scenario, target: str, fields: Mapping[str, str], kind: str) -> PartitionParams:
    """Its edges from the scenario's stack, as a scenario partition gets them (refused when one is missing)."""
    from brownout.faults.edges import partition_edges
    from brownout.stack.spec import load_stack_spec

    direction = fields.get("direction", "both").strip() or "both"
    if direction not in PARTITION_DIRECTIONS:
        raise Refused(400, f"field 'direction': {direction!r} is not one of: {', '.join(PARTITION_DIRECTIONS)}")
    if scenario.stack is None:
        raise Refused(400, "field 'kind': a partition needs the stack's [[proxies]]; this run has no stack")
    peer = fields.get("peer", "").strip()
    if kind == "partition-between" and not peer:
        raise Refused(400, "field 'peer': name the component on the other side")
    params = PartitionParams(between=(target, peer), direction=direction) if kind == "partition-between" else (
        PartitionParams(isolate=target, direction=direction))  # fmt: skip
    try:
        edges = partition_edges(params, load_stack_spec(scenario.stack.path))
    except InputError as exc:
        raise Refused(400, str(exc)) from None
    return replace(params, edges=edges)


def _integer(fields: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    text = fields.get(key, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refused(400, f"field {key!r}: {text!r} is not a whole number") from None
    if value < minimum:
        raise Refused(400, f"field {key!r}: must be at least {minimum}, got {value}")
    return value


def _number(fields: Mapping[str, str], key: str, default: float) -> float:
    text = fields.get(key, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise Refused(400, f"field {key!r}: {text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise Refused(400, f"field {key!r}: must be between 0 and 1, got {value:g}")
    return value


def target_names(target: Target) -> dict[str, tuple[str, ...]]:
    """Known proxies and components (of the stack); empty when brownout cannot know them ([target])."""
    return {"proxy": target.proxies, "component": target.components}
