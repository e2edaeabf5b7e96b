"""What a fault proxy carried, read at a network fault's inject and heal: the evidence the fault reached the
service (README "The fault proxy": `GET /proxies/{name}/traffic`, brownout's own route; a real Toxiproxy
started with `-proxy-metrics` gives byte counts on `/metrics`, without connections or an idle time).

A proxy that can say neither gives a reason instead of figures, so the `faults` check answers unknown:
a fault nobody can show reached anything must never pass silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from brownout.faults.drivers.base import Evidence

_TIMEOUT_S = 5.0
_RECEIVED = re.compile(r'^toxiproxy_proxy_received_bytes_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$', re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Reading:
    connections: int | None  # None: Toxiproxy's metrics count no connections
    bytes_upstream: int
    bytes_downstream: int
    idle_s: float | None  # None: never active, or not known (metrics)
    source: str  # "traffic" (brownout proxy) or "metrics" (Toxiproxy's -proxy-metrics)


def read_traffic(session: requests.Session, api_url: str, proxy: str) -> Reading | str:
    """The proxy's counters now, or why they cannot be had (a sentence)."""
    try:
        answer = session.get(f"{api_url}/proxies/{quote(proxy, safe='')}/traffic", timeout=_TIMEOUT_S)
        body = _json_object(answer)
        if answer.status_code == 200 and body is not None:
            idle = body.get("idle_s")
            return Reading(int(body["connections"]), int(body["bytes_upstream"]), int(body["bytes_downstream"]),
                           None if idle is None else float(idle), "traffic")  # fmt: skip
        if body is not None:  # brownout's own JSON error (no such proxy, a token refused)
            return f"GET /proxies/{proxy}/traffic answered {answer.status_code}: {body.get('error', body)}"
        metrics = session.get(f"{api_url}/metrics", timeout=_TIMEOUT_S)
    except (requests.RequestException, KeyError, TypeError, ValueError) as exc:
        return f"cannot read the traffic of proxy {proxy!r} at {api_url}: {exc}"
    if metrics.status_code != 200:
        return (
            f"the fault proxy at {api_url} counts no traffic (GET /proxies/{proxy}/traffic answered "
            f"{answer.status_code}, /metrics {metrics.status_code}): use brownout proxy, or start Toxiproxy "
            f"with -proxy-metrics"
        )
    return _from_metrics(metrics.text, api_url, proxy)


def _json_object(answer: requests.Response) -> dict[str, Any] | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _from_metrics(text: str, api_url: str, proxy: str) -> Reading | str:
    """Toxiproxy's received bytes per direction; no series at all for any proxy cannot tell -proxy-metrics
    without traffic from -runtime-metrics alone when Go's own metrics are there."""
    counts = {"upstream": 0, "downstream": 0}
    series = list(_RECEIVED.finditer(text))
    if not series and "go_goroutines" in text:
        return (
            f"the fault proxy at {api_url} has /metrics without toxiproxy_proxy_* series: start it with "
            f"-proxy-metrics (not only -runtime-metrics), or use brownout proxy"
        )
    for match in series:
        labels = dict(_LABEL.findall(match.group("labels")))
        if labels.get("proxy") == proxy and labels.get("direction") in counts:
            counts[labels["direction"]] += int(float(match.group("value")))
    return Reading(None, counts["upstream"], counts["downstream"], None, "metrics")


def at_inject(proxy: str, reading: Reading | str) -> Evidence:
    """The proxy as the fault found it: was it carrying anything just before?"""
    if isinstance(reading, str):
        return {"proxy": proxy, "unknown": reading}
    return {
        "proxy": proxy, "source": reading.source, "idle_before_s": reading.idle_s,
        "bytes_before": reading.bytes_upstream + reading.bytes_downstream,
    }  # fmt: skip


def in_window(before: Reading | str, after: Reading | str) -> Evidence:
    """What the proxy carried between inject and heal (a counter that went back: the proxy was re-created,
    so its count since then is a lower bound)."""
    if isinstance(after, str):
        return {"unknown": after}
    if isinstance(before, str):
        return {}

    def grew(then: int | None, now: int | None) -> int | None:
        return None if then is None or now is None else (now - then if now >= then else now)

    return {
        "connections": grew(before.connections, after.connections),
        "bytes_upstream": grew(before.bytes_upstream, after.bytes_upstream),
        "bytes_downstream": grew(before.bytes_downstream, after.bytes_downstream),
    }
