"""A fault's kind in a few words, from its journalled params: "network http_error 503 for POST /v1/, first 3",
"resource cpu 2 hogs", "partition upstream (2 edges)". One describer for the web UI (its tab, faults page and
start form) and the report (its fault bands and faults table), which reads the same params from faults.csv.

`params` is the journal's `params` cell (brownout.faults.kinds.params_as_dict): plain JSON values, a toxic's
attributes as a table, absent values left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brownout.inputs import format_duration

_HTTP_TOXICS = ("http_error", "http_latency", "http_drop")


def describe_fault(kind: str, params: Mapping[str, Any]) -> str:
    """The kind as people read it; just `kind` when its params say nothing more (http, command)."""
    if kind == "network":
        return f"network {_network(params)}"
    if kind == "component" and params.get("action"):
        return f"component {params['action']}"
    if kind == "partition":
        return f"partition {params.get('direction', 'both')} ({len(params.get('edges') or ())} edges)"
    if kind == "app" and params.get("dependency"):
        latency = f" +{params['latency_ms']}ms" if params.get("latency_ms") else ""
        return f"app {params['dependency']} errors {float(params.get('error_rate') or 0):g}{latency}"
    if kind == "app" and "acquire_timeout_s" in params:
        return "app db lock"
    if kind == "resource" and params.get("resource"):
        return f"resource {_resource(params)}"
    return kind


def band_key(kind: str, params: Mapping[str, Any]) -> str:
    """What colours a fault's band (brownout.report.colours): its kind, and a resource fault's resource."""
    resource = params.get("resource") if kind == "resource" else None
    return str(resource) if resource else kind


def _network(params: Mapping[str, Any]) -> str:
    if params.get("down"):
        return "down"
    toxic = str(params.get("toxic", ""))
    given = params.get("attributes") or {}
    attributes: dict[str, Any] = dict(given) if isinstance(given, Mapping) else {}
    share = float(params.get("toxicity", 1.0))
    if toxic in _HTTP_TOXICS:
        return _http_toxic(toxic, attributes) + _matching(attributes, share)
    text = toxic
    if toxic == "latency" and (attributes.get("distribution") or attributes.get("p99")):
        shape = attributes.get("distribution") or "lognormal"  # a p99 alone is lognormal (the proxy's rule)
        p50 = attributes.get("p50") or attributes.get("latency", 0)
        text = f"latency {shape} p50 {p50}ms" + (f" p99 {attributes['p99']}ms" if attributes.get("p99") else "")
    if toxic == "stall":
        text = f"stall {float(attributes.get('probability', 0.01)):g} of chunks {attributes.get('delay', 200)}ms"
    return text + (f", toxicity {share:g}" if share < 1 else "")


def _http_toxic(toxic: str, attributes: Mapping[str, Any]) -> str:
    """The proxy's defaults (brownout.proxy.toxics) where an attribute was not given."""
    if toxic == "http_error":
        retry = next((v for k, v in (attributes.get("headers") or {}).items() if k.lower() == "retry-after"), None)
        return f"http_error {attributes.get('status', 503)}" + (f" Retry-After {retry}" if retry is not None else "")
    if toxic == "http_latency":
        jitter = f" ±{attributes['jitter']}ms" if attributes.get("jitter") else ""
        return f"http_latency {attributes.get('latency', 0)}ms{jitter}"
    return f"http_drop after {attributes.get('bytes', 0)} bytes" + (" with a reset" if attributes.get("reset") else "")


def _matching(attributes: Mapping[str, Any], share: float) -> str:
    """Which requests: "for POST /v1/ with header X-Debug, first 3, 50% of them"."""
    which = " ".join(str(attributes[key]) for key in ("method", "path_prefix") if attributes.get(key))
    if attributes.get("header"):
        which = f"{which or 'requests'} with header {attributes['header']}"
    parts = [f"for {which}"] if which else []
    if attributes.get("first"):
        parts.append(f"first {attributes['first']}")
    if attributes.get("every"):
        parts.append(f"1 in {attributes['every']}")
    if share < 1:
        parts.append(f"{share:.0%} of them")
    return (" " + ", ".join(parts)) if parts else ""


def _resource(params: Mapping[str, Any]) -> str:
    resource = str(params["resource"])
    if resource == "cpu":
        cpus = params.get("cpus")
        return f"cpu {cpus} hog{'s' if cpus != 1 else ''}" if cpus else "cpu (a hog per CPU)"
    if resource == "memory":
        return f"memory {params.get('limit_mb')} MB"
    if resource == "disk":
        return f"disk {params.get('mode', 'full')} (up to {params.get('limit_mb')} MB)"
    if resource == "clock":
        offset = float(params.get("offset_s") or 0)
        return f"clock {'-' if offset < 0 else '+'}{format_duration(abs(offset))}"
    return resource
