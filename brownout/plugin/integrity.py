"""Reads every acknowledged write back through the target's audit API once the faults are healed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import requests

from brownout.history import Integrity
from brownout.loopback import session_for
from brownout.plugin.ledger import Ledger

_CHUNK = 500  # ids per audit request: well under the gateway's 64 KiB body limit, whatever the run's length
_IDS_KEPT = 100  # lost / duplicated ids listed in integrity.json (the counts are always complete)


def wait_until_ready(url: str, timeout_s: float, sleep: Callable[[float], None] = time.sleep) -> bool:
    deadline = time.monotonic() + timeout_s
    session = session_for(url)
    while time.monotonic() < deadline:
        try:
            if session.get(url, timeout=1.0).status_code == 200:
                return True
        except requests.RequestException:
            pass
        sleep(0.2)
    return False


def audit(
    admin_url: str, token: str | None, ledger: Ledger, ready_url: str, ready_timeout_s: float
) -> Integrity:
    messages = ledger.acknowledged.get("messages", [])
    workflows = ledger.acknowledged.get("workflows", [])
    stream = ledger.stream
    unverified = Integrity(
        verified=False, acknowledged_messages=len(messages), acknowledged_workflows=len(workflows),
        unverifiable=len(set(messages)) + len(set(workflows)),
        stream_users=stream.users, stream_gaps=stream.gaps, stream_duplicates=stream.duplicates,
    )  # fmt: skip
    if not wait_until_ready(ready_url, ready_timeout_s):
        waited = f"target not ready at {ready_url} within {ready_timeout_s:g} s after healing"
        return replace(unverified, error=waited)
    try:
        found = _audit_all(admin_url, token, messages, workflows)
    except (requests.RequestException, ValueError, KeyError) as exc:
        return replace(unverified, error=f"audit through {admin_url} failed: {exc}")
    return replace(
        unverified, verified=True, unverifiable=0,
        lost=len(found["missing"]), duplicated=len(found["duplicated"]),
        lost_ids=found["missing"][:_IDS_KEPT], duplicated_ids=found["duplicated"][:_IDS_KEPT],
        half_done_workflows=len(found["half_done_workflows"]),
        leaked_reservations=len(found["leaked_reservations"]),
    )  # fmt: skip


def _audit_all(
    admin_url: str, token: str | None, messages: list[str], workflows: list[str]
) -> dict[str, list]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    totals: dict[str, list] = {
        "missing": [],
        "duplicated": [],
        "half_done_workflows": [],
        "leaked_reservations": [],
    }
    unique_messages, unique_workflows = sorted(set(messages)), sorted(set(workflows))
    chunks = max(1, -(-max(len(unique_messages), len(unique_workflows)) // _CHUNK))
    session = session_for(admin_url)
    for i in range(chunks):
        body = {
            "message_ids": unique_messages[i * _CHUNK : (i + 1) * _CHUNK],
            "workflow_ids": unique_workflows[i * _CHUNK : (i + 1) * _CHUNK],
        }
        response = session.post(
            f"{admin_url.rstrip('/')}/admin/audit", json=body, headers=headers, timeout=30
        )
        response.raise_for_status()
        result = response.json()
        totals["missing"] += result["missing"]
        totals["duplicated"] += result["duplicated"]
        if i == 0:  # whole-store findings, the same in every answer
            totals["half_done_workflows"] = list(result["half_done_workflows"])
            totals["leaked_reservations"] = list(result["leaked_reservations"])
    return totals
