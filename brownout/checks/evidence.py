"""Did a fault reach the service? The journal's evidence (faults.csv `evidence`, written by the drivers)
judged, and put in words for the report. A partition is judged edge by edge, each as a network fault, and
reached the service only when every edge it cut did.

A network fault reached the service when its proxy carried traffic in its window, or in the 5 s before
it (a `down` fault refuses every connection, so its window is empty by design). No traffic in either is a
failure: the classic mistake is a service wired to the real port (`{ports.db}`) instead of the proxy's.
Evidence that could not be had is unknown, never a pass. A fault journalled without any evidence (results
written before brownout recorded it) is not judged, so old results re-report as they did.
"""

from __future__ import annotations

from typing import Any

from brownout.checks.result import Status
from brownout.history import FaultRow

ACTIVE_BEFORE_S = 5.0  # traffic this close before the inject counts as the service using the proxy
_SHOWN = 60  # characters of an answer shown in the report's table (faults.csv keeps 200)


def judge_evidence(fault: FaultRow) -> tuple[Status, str] | None:
    """FAIL or UNKNOWN with the reason, PASS with "", or None when there is nothing to judge."""
    evidence = fault.evidence
    if fault.kind not in ("network", "partition") or not evidence or fault.actual_start is None:
        return None
    if fault.outcome in ("inject-failed", "skipped"):
        return None  # already unknown: the fault did not happen
    if fault.kind == "partition":
        return _judge_edges(fault.name, evidence)
    return _judge_traffic(fault.name, evidence.get("proxy", fault.target), evidence)


def _judge_edges(name: str, evidence: dict[str, Any]) -> tuple[Status, str]:
    """A partition reached the service when every edge it cut did (the worst edge decides)."""
    edges = evidence.get("edges")
    if not isinstance(edges, list) or not edges:
        return Status.UNKNOWN, f"fault '{name}': no edges journalled: {evidence.get('unknown', 'evidence incomplete')}"
    judged = [_judge_traffic(name, str(edge.get("proxy")), edge) for edge in edges if isinstance(edge, dict)]
    for status in (Status.FAIL, Status.UNKNOWN):
        reasons = [reason for got, reason in judged if got == status]
        if reasons:
            return status, "; ".join(reasons)
    return Status.PASS, ""


def _judge_traffic(name: str, proxy: str, evidence: dict[str, Any]) -> tuple[Status, str]:
    """One proxy's traffic around the window: carried something, or was in use just before."""
    if "unknown" in evidence:
        return Status.UNKNOWN, f"fault '{name}': no evidence it reached the service: {evidence['unknown']}"
    carried = sum(evidence.get(key) or 0 for key in ("connections", "bytes_upstream", "bytes_downstream"))
    idle = evidence.get("idle_before_s")
    if carried > 0 or (idle is not None and idle <= ACTIVE_BEFORE_S):
        return Status.PASS, ""
    if "bytes_upstream" not in evidence:
        return Status.UNKNOWN, f"fault '{name}': proxy '{proxy}' was not read at the heal"
    if idle is None and evidence.get("source") == "metrics" and evidence.get("bytes_before"):
        return Status.UNKNOWN, (
            f"fault '{name}': no traffic through proxy '{proxy}' in its window, and Toxiproxy's metrics "
            f"cannot tell whether it carried any in the {ACTIVE_BEFORE_S:g} s before "
            f"({evidence['bytes_before']} bytes since it started)"
        )
    return Status.FAIL, (
        f"fault '{name}' touched nothing: 0 connections through proxy '{proxy}' — "
        f"is the service using {{proxies.{proxy}}}?"
    )


def describe_evidence(evidence: dict[str, Any]) -> str:
    """One short line for the report: what the fault acted on."""
    if not evidence:
        return "-"
    if "unknown" in evidence:
        return f"unknown: {evidence['unknown']}"
    if isinstance(evidence.get("edges"), list):
        edges = [edge for edge in evidence["edges"] if isinstance(edge, dict)]
        return f"{evidence.get('direction', '?')}: " + "; ".join(
            f"{edge.get('from')}->{edge.get('to')}: {_traffic_words(edge)}" for edge in edges
        )
    if "proxy" in evidence:
        return _traffic_words(evidence)
    if "resource" in evidence:
        return _resource_words(evidence)
    parts = [_pid_words(evidence)] if {"pid", "lock_holder_pid"} & evidence.keys() else []
    parts += [f"{step}: {_answer_words(evidence[step])}" for step in ("inject", "heal") if step in evidence]
    return "; ".join(part for part in parts if part) or "-"


def _traffic_words(evidence: dict[str, Any]) -> str:
    connections = evidence.get("connections")
    window = (
        "window not read" if "bytes_upstream" not in evidence
        else f"{'?' if connections is None else connections} new connections, "
        f"{_size(evidence['bytes_upstream'])} up, {_size(evidence['bytes_downstream'])} down"
    )  # fmt: skip
    idle = evidence.get("idle_before_s")
    before = "never active before" if idle is None else f"last active {idle:.1f} s before"
    if idle is None and evidence.get("source") == "metrics":
        before = f"{_size(evidence.get('bytes_before') or 0)} before (Toxiproxy metrics)"
    return f"proxy {evidence['proxy']}: {window}; {before}"


def _resource_words(evidence: dict[str, Any]) -> str:
    """A `resource` fault's evidence (brownout.faults.drivers.resource) in words."""
    get = evidence.get
    words = {
        "cpu": lambda: f"{len(get('hog_pids') or [])} CPU hogs on CPUs {get('cpus')} beside pid {get('pid')}"
        + (f", {get('hogs_stopped')} stopped at heal" if "hogs_stopped" in evidence else ""),
        "memory": lambda: f"{get('held_mb')} MB held beside pid {get('pid')}, "
        f"MemAvailable {get('available_mb_before')} -> {get('available_mb_after')} MB",
        "disk": lambda: f"ballast {_size(get('written_bytes') or 0)}, free {_size(get('free_bytes_before') or 0)} "
        f"-> {_size(get('free_bytes_after') or 0)}",
        "clock": lambda: f"FAKETIME={get('faketime')} on pid {get('pid')}, "
        f"offset read back {get('offset_read_back_s')} s"
        + (f", {get('offset_after_heal_s')} s after heal" if "offset_after_heal_s" in evidence else ""),
    }.get(str(get("resource")))
    return words() if words else f"resource {get('resource')}"


def _pid_words(evidence: dict[str, Any]) -> str:
    if "lock_holder_pid" in evidence:
        return f"lock held by pid {evidence['lock_holder_pid']}"
    words = f"pid {evidence['pid']}" + (f" -> {evidence['new_pid']}" if "new_pid" in evidence else "")
    return words + (f", pid {evidence['pid_after_heal']} after heal" if evidence.get("pid_after_heal") else "")


def _answer_words(answer: Any) -> str:
    if not isinstance(answer, dict):
        return str(answer)[:_SHOWN]
    if "status" in answer:
        return f"{answer['status']} {_head(answer['body'])}" if answer.get("body") else str(answer["status"])
    words = f"exit {answer.get('exit')}"
    for stream in ("stdout", "stderr"):
        if answer.get(stream):
            words += f", {stream} {_head(answer[stream])}"
    return words


def _head(text: str) -> str:
    flat = " ".join(str(text).split())
    return repr(flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…")


def _size(count: int) -> str:
    return f"{count} B" if count < 1000 else f"{count / 1000:.1f} kB"
