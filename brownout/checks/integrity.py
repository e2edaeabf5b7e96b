"""Data integrity from integrity.json: acknowledged writes of every kind lost or duplicated, stream gaps and
duplicates, and each kind's violations (the sample's half-done workflows, leaked reservations), which must
be 0. "Could not verify" is unknown, never a pass; a missing file too."""

from __future__ import annotations

from brownout.checks.criteria import Criteria
from brownout.checks.result import CheckResult, Status
from brownout.history import History


def check_integrity(history: History, criteria: Criteria) -> CheckResult:
    integrity = history.integrity
    if integrity is None:
        why = "no integrity.json: acknowledged writes were not verified"
        return CheckResult("integrity", Status.UNKNOWN, why, (why,))
    # The record, plus the totals over every kind (what a verdict.json reader of format 1 found at the top).
    figures = {**integrity.to_json(), "totals": {
        "acknowledged": integrity.acknowledged_total, "lost": integrity.lost, "duplicated": integrity.duplicated,
        "unverifiable": integrity.unverifiable,
    }}  # fmt: skip
    limits = [
        ("lost acknowledged writes", integrity.lost, criteria.max_lost),
        ("duplicated acknowledged writes", integrity.duplicated, criteria.max_duplicated),
        ("stream gaps", integrity.stream.gaps, criteria.max_stream_gaps),
        ("stream duplicates", integrity.stream.duplicates, criteria.max_stream_duplicates),
        *((name, count, 0) for name, count in integrity.violations.items()),
    ]
    reasons = [f"{count} {what} (max {limit})" for what, count, limit in limits if count > limit]
    statuses = [Status.FAIL] if reasons else []
    if not integrity.verified:
        statuses.append(Status.UNKNOWN)
        reasons.append(f"could not verify: {integrity.error or 'no reason given'}")
    if integrity.unverifiable:
        statuses.append(Status.UNKNOWN)
        reasons.append(f"{integrity.unverifiable} acknowledged write(s) could not be verified")
    summary = (
        f"{integrity.acknowledged_total} acknowledged: {integrity.lost} lost, {integrity.duplicated} duplicated, "
        f"{integrity.unverifiable} unverifiable; {integrity.stream.gaps} stream gap(s)"
    )
    return CheckResult("integrity", Status.worst(statuses), summary, tuple(reasons), figures)
