"""Reads every acknowledged write back once the faults are healed (Jepsen's final read) -> integrity.json.

Each kind goes through the locustfile's read-back function for it (`@brownout.audit("records")`), or, for
the kinds the sample target's audit API knows (`messages`, `workflows`), through that HTTP endpoint when
there is one. A kind with neither, a read-back that raises, or a target that is not ready leaves its ids
unverifiable: the integrity check then answers unknown, never pass.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from brownout.history import Integrity, KindIntegrity, StreamIntegrity
from brownout.net.audit_client import AuditClient
from brownout.net.polling import wait_until
from brownout.plugin.ledger import Ledger
from brownout.scenario.audit import HTTP_AUDIT_KINDS, AuditSettings, ReadBack, read_back_for

log = logging.getLogger("brownout.plugin")

_CHUNK = 500  # ids per audit request: well under the gateway's 64 KiB body limit, whatever the run's length
_IDS_KEPT = 100  # lost / duplicated ids listed in integrity.json (the counts are always complete)


@dataclass(frozen=True)
class AuditPlan:
    """Where and how to read back: built by the session from the scenario's [audit] and the target."""

    host: str
    ready_url: str | None  # GET until it answers (see ready_any_answer) before reading back; None: at once
    ready_any_answer: bool = False  # True: any status below 500 is ready (a host with no readiness path)
    ready_timeout_s: float = 30.0
    endpoint_url: str | None = None  # the HTTP audit endpoint (sample contract) for HTTP_AUDIT_KINDS
    token: str | None = None  # for the endpoint


def audit_plan(
    settings: AuditSettings, host: str, admin_url: str | None, token: str | None, entry_ready: str | None = None
) -> AuditPlan:
    """The plan from the scenario's [audit]: its `ready`, else the stack entry's HTTP readiness path, else
    "the host answers at all"; the HTTP endpoint on the admin API unless [audit] endpoint = ""."""
    ready = settings.ready or (entry_ready if entry_ready and entry_ready.startswith(("/", "http")) else None)
    ready_url = (host + ready if ready.startswith("/") else ready) if ready else host + "/"
    endpoint = f"{admin_url.rstrip('/')}{settings.endpoint}" if admin_url and settings.endpoint else None
    return AuditPlan(
        host=host, ready_url=ready_url, ready_any_answer=ready is None, ready_timeout_s=settings.ready_timeout_s,
        endpoint_url=endpoint, token=token or os.environ.get("BROWNOUT_TOKEN"),  # as the fault drivers do
    )  # fmt: skip


def wait_until_ready(
    url: str, timeout_s: float, *, any_answer: bool = False, sleep: Callable[[float], None] = time.sleep
) -> bool:
    with AuditClient(url, timeout_s=1.0) as session:
        return wait_until(lambda: _ready(session, url, any_answer), within_s=timeout_s, every_s=0.2, sleep=sleep)


def _ready(session: requests.Session, url: str, any_answer: bool) -> bool:
    try:
        status = session.get(url).status_code
    except requests.RequestException:
        return False  # not up yet: ask again
    return status == 200 or (any_answer and status < 500)


@dataclass
class _Tally:
    """What the read-backs found, per kind, before it becomes the record."""

    lost: dict[str, list[str]] = field(default_factory=dict)
    duplicated: dict[str, list[str]] = field(default_factory=dict)
    unverifiable: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    violations: dict[str, dict[str, int]] = field(default_factory=dict)

    def found(self, kind: str, ids: list[str], returned: list[str]) -> None:
        counts = Counter(returned)
        self.lost.setdefault(kind, []).extend(i for i in ids if counts[i] == 0)
        self.duplicated.setdefault(kind, []).extend(i for i in ids if counts[i] > 1)

    def unverified(self, kind: str, ids: list[str], error: str) -> None:
        self.unverifiable[kind] += len(ids)
        self.errors.append(error)

    def kind(self, kind: str, acknowledged: int) -> KindIntegrity:
        lost, duplicated = self.lost.get(kind, []), self.duplicated.get(kind, [])
        return KindIntegrity(
            acknowledged=acknowledged, lost=len(lost), duplicated=len(duplicated),
            unverifiable=self.unverifiable[kind], lost_ids=tuple(lost[:_IDS_KEPT]),
            duplicated_ids=tuple(duplicated[:_IDS_KEPT]), violations=self.violations.get(kind, {}),
        )  # fmt: skip


def audit(plan: AuditPlan, ledger: Ledger, read_back: Callable[[str], ReadBack | None] = read_back_for) -> Integrity:
    """integrity.json's content for what the ledger holds, read back as `plan` says."""
    kinds = {kind: sorted(set(ids)) for kind, ids in ledger.acknowledged.items() if ids}
    stream = StreamIntegrity(ledger.stream.users, ledger.stream.gaps, ledger.stream.duplicates)
    tally = _Tally()
    if (
        kinds
        and plan.ready_url
        and not wait_until_ready(plan.ready_url, plan.ready_timeout_s, any_answer=plan.ready_any_answer)
    ):
        waited = f"target not ready at {plan.ready_url} within {plan.ready_timeout_s:g} s after healing"
        tally.errors.append(waited)
        tally.unverifiable.update({kind: len(ids) for kind, ids in kinds.items()})
    elif kinds:
        _read_all_back(plan, kinds, read_back, tally)
    acknowledged = {kind: len(ids) for kind, ids in ledger.acknowledged.items() if ids}
    named = {**acknowledged, **{kind: 0 for kind in tally.violations if kind not in acknowledged}}
    return Integrity(
        verified=not tally.errors, error="; ".join(tally.errors) or None,
        kinds={kind: tally.kind(kind, count) for kind, count in sorted(named.items())}, stream=stream,
    )  # fmt: skip


def _read_all_back(
    plan: AuditPlan, kinds: dict[str, list[str]], read_back: Callable[[str], ReadBack | None], tally: _Tally
) -> None:
    by_endpoint = {kind: ids for kind, ids in kinds.items() if read_back(kind) is None and kind in HTTP_AUDIT_KINDS}
    for kind, ids in kinds.items():
        function = read_back(kind)
        if function is not None:
            _read_back(plan, kind, ids, function, tally)
        elif kind not in by_endpoint or plan.endpoint_url is None:
            how = f"give the locustfile a @brownout.audit({kind!r}) function"
            tally.unverified(kind, ids, f"no way to read back {kind!r}: {how}")
    if by_endpoint:
        _through_endpoint(plan, by_endpoint, tally)


def _read_back(plan: AuditPlan, kind: str, ids: list[str], function: ReadBack, tally: _Tally) -> None:
    try:
        with AuditClient(plan.host) as client:
            returned = [str(i) for i in function(client, list(ids))]
    except Exception as exc:  # noqa: BLE001  (the user's function: whatever it raises, the kind is unverified)
        message = f"read-back of {kind!r} failed: {_raised_at(function, exc)}{exc!r}"
        # The message names one line; the log keeps the whole traceback for what happened below it.
        log.error("brownout: %s", message, exc_info=exc)
        tally.unverified(kind, ids, message)
        return
    tally.found(kind, ids, returned)


def _raised_at(function: ReadBack, exc: BaseException) -> str:
    """"records.py:42 in read_back: ": the innermost line of the read-back's own file (the locustfile) that
    the exception passed through, so the message points at the user's code, not into requests or json."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0] is this module's call of the function
    code = getattr(inspect.unwrap(function), "__code__", None)
    own = [frame for frame in frames if code is not None and frame.filename == code.co_filename]
    chosen = (own or frames)[-1:]
    return "".join(f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}: " for frame in chosen)


def _through_endpoint(plan: AuditPlan, kinds: dict[str, list[str]], tally: _Tally) -> None:
    if plan.endpoint_url is None:
        return
    messages, workflows = kinds.get("messages", []), kinds.get("workflows", [])
    try:
        found = _audit_all(plan.endpoint_url, plan.token, messages, workflows)
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        tally.errors.append(f"audit through {plan.endpoint_url} failed: {exc}")
        tally.unverifiable.update({"messages": len(messages), "workflows": len(workflows)})
        return
    # The answer lists missing and duplicated ids of both kinds together: each goes to the kind it was
    # sent as (ids are the service's own, unique across kinds).
    sent_as_message = set(messages)
    for key, into in (("missing", tally.lost), ("duplicated", tally.duplicated)):
        into.setdefault("messages", []).extend(i for i in found[key] if i in sent_as_message)
        into.setdefault("workflows", []).extend(i for i in found[key] if i not in sent_as_message)
    tally.violations["workflows"] = {
        "half-done workflows": len(found["half_done_workflows"]),
        "leaked reservations": len(found["leaked_reservations"]),
    }


def _audit_all(url: str, token: str | None, messages: list[str], workflows: list[str]) -> dict[str, list]:
    totals: dict[str, list] = {"missing": [], "duplicated": [], "half_done_workflows": [], "leaked_reservations": []}
    chunks = max(1, -(-max(len(messages), len(workflows)) // _CHUNK))
    with AuditClient(url, timeout_s=30.0, token=token) as session:
        for i in range(chunks):
            body = {
                "message_ids": messages[i * _CHUNK : (i + 1) * _CHUNK],
                "workflow_ids": workflows[i * _CHUNK : (i + 1) * _CHUNK],
            }
            response = session.post(url, json=body)
            response.raise_for_status()
            result = response.json()
            totals["missing"] += result["missing"]
            totals["duplicated"] += result["duplicated"]
            if i == 0:  # whole-store findings, the same in every answer
                totals["half_done_workflows"] = list(result["half_done_workflows"])
                totals["leaked_reservations"] = list(result["leaked_reservations"])
    return totals
