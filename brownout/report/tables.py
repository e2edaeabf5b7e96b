"""The report's tables as (header, rows of text), built from the verdict's figures; Markdown, HTML and the
terminal render the same tables."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brownout.checks import Verdict
from brownout.checks.remarks import NO_REMARKS, Remarks
from brownout.faults.describe import describe_fault
from brownout.history import FORMAT_VERSION, KindIntegrity, integrity_from_json

if TYPE_CHECKING:
    from brownout.store.standing import Standing


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    numeric: tuple[int, ...] = ()  # the columns of figures, right-aligned so they line up


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def secs(value: float | None, missing: str = "-") -> str:
    return missing if value is None else f"{value:.1f}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def checks_table(verdict: Verdict) -> Table:
    rows = []
    for check in verdict.checks:
        status = str(check.status).upper()
        if check.status.value == "unknown" and not verdict.counts_against(check):
            status += " (allowed)"
        rows.append((check.name, status, check.summary, "; ".join(check.reasons)))
    return Table("Checks", ("check", "status", "summary", "reasons"), tuple(rows))


def _by_fault(verdict: Verdict, check: str) -> dict[str, dict[str, Any]]:
    return {f["fault"]: f for f in verdict.check(check).figures.get("faults", [])}


def _amplification(resilience: dict[str, Any] | None) -> str:
    if not resilience:
        return "-"
    parts = [
        f"{dependency} {figures['amplification']:.2f}"
        for dependency, figures in sorted(resilience.get("retries", {}).items())
        if figures.get("amplification") is not None
    ]
    return ", ".join(parts) or "-"


def _recovery_cell(recovery: dict[str, Any] | None) -> str:
    if not recovery:
        return "-"
    return _recovery_shown(recovery["overall"])


def _recovery_shown(figures: dict[str, Any]) -> str:
    """"2.3", "≤ 16.2" (an upper bound), or the status with what was observed ("censored after 5.0 s")."""
    if figures["status"] == "recovered":
        return ("≤ " if figures.get("bound") == "upper" else "") + secs(figures["recovery_s"])
    if figures["status"] == "censored" and figures.get("observed_s") is not None:
        return f"censored after {figures['observed_s']:.1f} s"
    return figures["status"]


def faults_table(verdict: Verdict, run_start: float) -> Table:
    availability = verdict.check("availability").figures.get("faults", [])
    recovery, detection = _by_fault(verdict, "recovery"), _by_fault(verdict, "detection")
    resilience, journal = _by_fault(verdict, "resilience"), _by_fault(verdict, "faults")
    rows = []
    for fault in availability:
        name = fault["fault"]
        overall = fault["overall"]
        found = detection.get(name, {})
        rows.append(
            (
                name,
                f"{describe_fault(fault['kind'], journal.get(name, {}).get('params') or {})} on {fault['target']}",
                secs(fault["start"] - run_start),
                secs(fault["end"] - fault["start"]) + ("" if fault["healed"] else " (not healed)"),
                pct(overall["availability"]),
                pct(overall["ok_ratio"]),
                pct(overall["degraded_share"]),
                _recovery_cell(recovery.get(name)),
                secs(found.get("breaker_open_s")),
                secs(found.get("degraded_s")),
                _amplification(resilience.get(name)),
                f"{fault['status']} / {recovery.get(name, {}).get('status', '-')}",
                journal.get(name, {}).get("evidence_text", "-"),
            )
        )
    header = (
        "fault", "what", "start s", "duration s", "availability", "ok", "degraded", "recovery s (all ops)",
        "breaker open s", "degraded after s", "retry amplification", "availability / recovery", "evidence",
    )  # fmt: skip
    return Table("Faults", header, tuple(rows), "times in seconds from the start of the run")


def repetitions_table(verdict: Verdict) -> Table:
    """Each repeated fault's spread over its windows (`name`, `name#2`, ...): median (min-max) per figure;
    "k of n" when only k windows had the figure measured."""
    from brownout.compare.fault_values import window_values
    from brownout.faults.kinds import base_fault_name

    names = {c.name for c in verdict.checks}
    labels = [f["fault"] for f in verdict.check("availability").figures.get("faults", [])]
    values = window_values(lambda check: verdict.check(check).figures if check in names else {}, labels)
    groups: dict[str, list[dict[str, float]]] = {}
    for label in labels:
        groups.setdefault(base_fault_name(label), []).append(values[label])
    shown = {"availability": pct, "recovery_s": secs, "detection_s": secs, "amplification": _times}
    rows = tuple(
        (base, str(len(windows)), *(_spread([w[m] for w in windows if m in w], len(windows), shown[m]) for m in shown))
        for base, windows in groups.items()
        if len(windows) > 1
    )
    header = ("fault", "windows", "availability", "recovery s", "detection s", "retry amplification")
    return Table("Repeated faults", header, rows, "median (min-max) over the fault's windows")


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _spread(values: list[float], windows: int, show: Callable[[float | None], str]) -> str:
    if not values:
        return "-"
    text = f"{show(statistics.median(values))} ({show(min(values))}-{show(max(values))})"
    return text if len(values) == windows else f"{text}, {len(values)} of {windows}"


def recovery_table(verdict: Verdict) -> Table:
    rows = []
    for fault in verdict.check("recovery").figures.get("faults", []):
        for operation, figures in fault["operations"].items():
            band = figures.get("band") or {}
            rows.append(
                (
                    fault["fault"],
                    operation,
                    _recovery_shown(figures),
                    f"{figures['target_s']:g}",
                    {True: "yes", False: "no", None: "-"}[figures["within_target"]],
                    band.get("source", "-"),
                    pct(band.get("baseline_error_ratio")),
                    ms(band.get("baseline_p95_ms")),
                )
            )
    header = (
        "fault",
        "operation",
        "recovery s",
        "target s",
        "within",
        "baseline",
        "base errors",
        "base p95 ms",
    )
    return Table("Recovery per operation", header, tuple(rows))


def load_table(verdict: Verdict) -> Table:
    figures = verdict.check("load").figures
    knee = (figures.get("knee") or {}).get("step")
    rows = []
    for step in figures.get("steps", []):
        marks = ("knee " if step["step"] == knee else "") + {True: "ok", False: "over target", None: "-"}[
            step["within_target"]
        ]
        rows.append(
            (
                str(step["step"]),
                str(step["users"]),
                "-" if step["rps"] is None else f"{step['rps']:.1f}",
                ms(step["p50_ms"]),
                ms(step["p95_ms"]),
                ms(step["p99_ms"]),
                pct(step["error_ratio"]),
                secs(step["excluded_s"]),
                marks,
            )
        )
    header = ("step", "users", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "fault time cut s", "p95")
    note = "" if figures.get("knee") is None else f"knee: step {knee}: {figures['knee']['why']}"
    return Table("Load steps", header, tuple(rows), note)


def integrity_table(verdict: Verdict) -> Table:
    figures = verdict.check("integrity").figures
    if not figures:
        return Table("Integrity", ("figure", "value"), (("integrity.json", "missing"),))
    record = integrity_from_json(figures, FORMAT_VERSION)  # the figures are the record's JSON
    rows = [
        ("verified", str(record.verified) + (f" ({record.error})" if record.error else "")),
        *(
            (f"acknowledged {kind}", str(counts.acknowledged) + _outcome(counts))
            for kind, counts in record.kinds.items()
        ),
        ("lost", str(record.lost)),
        ("duplicated", str(record.duplicated)),
        ("unverifiable", str(record.unverifiable)),
        ("stream users", str(record.stream.users)),
        ("stream gaps", str(record.stream.gaps)),
        ("stream duplicates", str(record.stream.duplicates)),
        *((name, str(count)) for name, count in record.violations.items()),
    ]
    if record.lost_ids:
        rows.append(("lost ids", ", ".join(record.lost_ids[:20])))
    return Table("Integrity", ("figure", "value"), tuple(rows))


def _outcome(counts: KindIntegrity) -> str:
    """Which kind lost what, beside its acknowledged count; nothing when it lost nothing."""
    parts = [(counts.lost, "lost"), (counts.duplicated, "duplicated"), (counts.unverifiable, "unverifiable")]
    told = ", ".join(f"{n} {what}" for n, what in parts if n)
    return f" ({told})" if told else ""


def alerts_table(verdict: Verdict, run_start: float) -> Table:
    rows = tuple(
        (str(a.level), "-" if a.at is None else secs(a.at - run_start), a.fault, a.message) for a in verdict.alerts
    )
    return Table("Alerts", ("level", "at s", "fault", "message"), rows)


def remarks_table(remarks: Remarks) -> Table:
    rows = tuple(("warning", text) for text in remarks.warnings) + tuple(("note", text) for text in remarks.notes)
    return Table("Warnings and notes", ("", "what"), rows)


def standing_table(standing: Standing) -> Table:
    """This run's headline rows beside the store's last releases' medians, and compare --store's verdict."""
    from brownout.store.standing import describe

    verdict = f"vs {standing.baseline}" if standing.baseline else "verdict"
    medians = tuple(
        f"{label} median" + (" (baseline)" if label == standing.baseline else "") for label in standing.releases
    )
    rows = tuple(
        (f"{row.scope} {row.metric}", describe(row.metric, row.value),
         *(describe(row.metric, median) for median in row.medians), row.verdict or "-")
        for row in standing.rows
    )  # fmt: skip
    judged = (
        f" The verdicts are those of brownout compare --store against release {standing.baseline}, whose table "
        f"has all of this run's rows; these are its headline rows."
        if standing.baseline
        else ""
    )
    notes = " ".join(_sentence(note) for note in standing.notes)
    note = f"Store {standing.store}: the median of each release's runs.{judged} {notes}".rstrip()
    return Table("Against the release history", ("row", "this run", *medians, verdict), rows, note,
                 numeric=tuple(range(1, len(medians) + 2)))  # fmt: skip


def _sentence(text: str) -> str:
    """compare's notes are clauses ("baseline: 5 runs of ..."); in a paragraph each becomes a sentence."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def all_tables(
    verdict: Verdict, run_start: float, remarks: Remarks = NO_REMARKS, standing: Standing | None = None
) -> list[Table]:
    return [
        *([remarks_table(remarks)] if remarks.warnings or remarks.notes else []),
        checks_table(verdict),
        *([standing_table(standing)] if standing is not None and standing.rows else []),
        faults_table(verdict, run_start),
        *([repetitions] if (repetitions := repetitions_table(verdict)).rows else []),
        recovery_table(verdict),
        load_table(verdict),
        integrity_table(verdict),
        alerts_table(verdict, run_start),
    ]
