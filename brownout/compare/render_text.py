"""The comparison as a terminal table, a Markdown summary (CI job summaries) and JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from brownout.compare.figures import Side
from brownout.compare.metrics import FAULT, INTEGRITY, OPERATION
from brownout.compare.verdict import IMPROVED, REGRESSED, Row

_HEADINGS = {OPERATION: "Operations", FAULT: "Faults", INTEGRITY: "Integrity"}
_SCOPE_TITLES = {OPERATION: "operation", FAULT: "fault", INTEGRITY: "integrity"}


@dataclass(frozen=True)
class Comparison:
    baseline: Side
    candidate: Side
    rows: list[Row]
    notes: tuple[str, ...]
    tolerance_source: str
    confidence: float
    warnings: tuple[str, ...] = ()  # names in the tolerance file that match nothing; the exit code ignores them

    @property
    def regressions(self) -> list[Row]:
        return [row for row in self.rows if row.verdict == REGRESSED]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.verdict] = counts.get(row.verdict, 0) + 1
        parts = [f"{counts[v]} {v}" for v in (REGRESSED, IMPROVED, "same") if counts.get(v)]
        parts += [f"{n} {v}" for v, n in counts.items() if v not in (REGRESSED, IMPROVED, "same")]
        verdict = "REGRESSION" if self.regressions else "no regression"
        return f"{verdict}: " + ", ".join(parts)


def cells(row: Row) -> list[str]:
    spec = row.spec
    if spec is None:  # rows of an operation or fault present on one side only
        values = [_plain(row.baseline), _plain(row.candidate), "", ""]
        return [row.scope, row.metric, *values, row.verdict, row.method]
    relative = "" if row.relative is None else f"{row.relative * 100:+.1f} %"
    return [
        row.scope, row.metric, spec.describe(row.baseline), spec.describe(row.candidate),
        spec.describe_delta(row.delta), relative, row.verdict, row.method,
    ]  # fmt: skip


def _plain(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


_COLUMNS = ["scope", "metric", "baseline", "candidate", "delta", "delta %", "verdict", "method"]


def terminal_table(comparison: Comparison) -> str:
    lines = [
        f"baseline:  {_inputs(comparison.baseline)}",
        f"candidate: {_inputs(comparison.candidate)}",
    ]
    lines += [f"note: {note}" for note in comparison.notes]
    lines += [f"warning: {warning}" for warning in comparison.warnings]
    table = [_COLUMNS] + [cells(row) for row in comparison.rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    widths[0] = min(widths[0], 40)
    lines.append("")
    for index, line in enumerate(table):
        text = "  ".join(cell[: widths[i]].ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        marker = "!" if index and comparison.rows[index - 1].verdict == REGRESSED else " "
        lines.append(f"{marker} {text}")
        if index == 0:
            lines.append("  " + "  ".join("-" * width for width in widths))
    lines += ["", comparison.summary()]
    return "\n".join(lines)


def _inputs(side: Side) -> str:
    runs = ", ".join(side.sources)
    label = "brownout results" if side.kind == "brownout" else "plain Locust CSV"
    count = f"{len(side.sources)} runs, " if len(side.sources) > 1 else ""
    return f"{count}{label}: {runs}"


def markdown(comparison: Comparison) -> str:
    out = [
        "## brownout compare",
        "",
        f"**{comparison.summary()}**",
        "",
        f"- baseline: {_inputs(comparison.baseline)}",
        f"- candidate: {_inputs(comparison.candidate)}",
        f"- tolerances: {comparison.tolerance_source}; confidence {comparison.confidence:.0%}",
    ]
    out += [f"- note: {note}" for note in comparison.notes]
    out += [f"- **warning**: {warning}" for warning in comparison.warnings]
    if comparison.regressions:
        out += ["", "### Regressions", ""]
        for row in comparison.regressions:
            _, _, before, after, delta, relative, _, _ = cells(row)
            out.append(
                f"- **{row.scope}** {row.metric}: {before} -> {after} ({relative or delta}), "
                f"tolerance {row.tolerance}; {row.method}"
            )
    for scope_kind, heading in _HEADINGS.items():
        rows = [row for row in comparison.rows if row.scope_kind == scope_kind]
        if not rows:
            continue
        header = [_SCOPE_TITLES[scope_kind], *_COLUMNS[1:]]
        out += ["", f"### {heading}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows:
            line = [_escape(cell) for cell in cells(row)]
            if row.verdict == REGRESSED:
                line[6] = f"**{line[6]}**"
            out.append("| " + " | ".join(line) + " |")
    return "\n".join(out) + "\n"


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def to_json(comparison: Comparison) -> str:
    def number(value: float | None) -> float | None:
        return None if value is None or not math.isfinite(value) else value

    document: dict[str, Any] = {
        "format": "brownout-comparison",
        "format_version": 1,
        "regression": bool(comparison.regressions),
        "exit_code": comparison.exit_code,
        "summary": comparison.summary(),
        "baseline": {"kind": comparison.baseline.kind, "runs": list(comparison.baseline.sources)},
        "candidate": {"kind": comparison.candidate.kind, "runs": list(comparison.candidate.sources)},
        "tolerances": comparison.tolerance_source,
        "confidence": comparison.confidence,
        "notes": list(comparison.notes),
        "warnings": list(comparison.warnings),
        "rows": [
            {
                "scope_kind": row.scope_kind,
                "scope": row.scope,
                "metric": row.metric,
                "unit": row.spec.unit if row.spec else "",
                "baseline": number(row.baseline),
                "candidate": number(row.candidate),
                "delta": number(row.delta),
                "relative": number(row.relative),
                "interval": None if row.interval is None else [number(v) for v in row.interval],
                "tolerance": row.tolerance,
                "verdict": row.verdict,
                "method": row.method,
            }
            for row in comparison.rows
        ],
    }
    return json.dumps(document, indent=2) + "\n"
