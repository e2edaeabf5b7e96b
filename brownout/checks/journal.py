"""The fault journal itself: every planned fault was injected, reached the service and was healed. A fault
left unhealed fails, and so does a network fault whose proxy carried nothing (brownout.checks.evidence); one
that was skipped or could not be injected, or whose reach nobody could tell, makes the run unknown (it did
not test what it planned)."""

from __future__ import annotations

from collections import Counter

from brownout.checks.criteria import Criteria
from brownout.checks.evidence import describe_evidence, judge_evidence
from brownout.checks.result import CheckResult, Status
from brownout.history import History


def check_faults(history: History, criteria: Criteria) -> CheckResult:
    outcomes = Counter(f.outcome for f in history.faults)
    reasons: list[str] = []
    statuses: list[Status] = []
    untouched = 0
    for fault in history.faults:
        error = f": {fault.error}" if fault.error else ""
        if fault.outcome == "heal-failed" or (fault.actual_start is not None and fault.actual_end is None):
            statuses.append(Status.FAIL)
            reasons.append(f"{fault.name} ({fault.kind} on {fault.target}) was not healed{error}")
        elif fault.outcome in ("inject-failed", "skipped"):
            statuses.append(Status.UNKNOWN)
            reasons.append(f"{fault.name} ({fault.kind} on {fault.target}) was {fault.outcome}{error}")
        judged = judge_evidence(fault)
        if judged is not None:
            statuses.append(judged[0])
            reasons += [judged[1]] if judged[1] else []
            untouched += judged[0] is Status.FAIL
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "no faults planned"
    counts += f"; {untouched} touched nothing" if untouched else ""
    figures = {
        "outcomes": dict(outcomes),
        "faults": [
            {
                "fault": f.name, "target": f.target, "kind": f.kind, "params": f.params,
                "planned_start": f.planned_start, "planned_end": f.planned_end,
                "actual_start": f.actual_start, "actual_end": f.actual_end,
                "outcome": f.outcome, "error": f.error,
                "evidence": f.evidence, "evidence_text": describe_evidence(f.evidence),
            }
            for f in history.faults
        ],
    }  # fmt: skip
    return CheckResult("faults", Status.worst(statuses), counts, tuple(reasons), figures)
