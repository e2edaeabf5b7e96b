"""A self-contained HTML comparison: the table plus a chart of p50/p95/p99 per operation, baseline and
candidate side by side, embedded as a base64 PNG."""

from __future__ import annotations

import base64
import html
import io

from brownout.compare.metrics import AGGREGATED, FAULT, INTEGRITY, OPERATION
from brownout.compare.render_text import _COLUMNS, Comparison, _inputs, cells
from brownout.compare.verdict import IMPROVED, REGRESSED

_PERCENTILES = ("p50", "p95", "p99")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
tr.regressed td { background: #fde2e1; }
tr.improved td { background: #e3f6e3; }
.summary { font-size: 1.2em; font-weight: bold; }
.summary.bad { color: #b00020; }
img { max-width: 100%; }
"""


def chart_png(comparison: Comparison) -> bytes | None:
    """Grouped bars per operation for each percentile; None when there are no latency figures."""
    values: dict[str, dict[str, tuple[float, float]]] = {}
    for row in comparison.rows:
        judged = row.scope_kind == OPERATION and row.metric in _PERCENTILES
        if judged and row.baseline is not None and row.candidate is not None:
            values.setdefault(row.scope, {})[row.metric] = (row.baseline, row.candidate)
    operations = sorted(values, key=lambda op: (op == AGGREGATED, op))
    if not operations:
        return None
    from matplotlib.figure import Figure  # imported here: it is slow and only the HTML needs it

    figure = Figure(figsize=(4.2 * len(_PERCENTILES), 0.5 + 0.45 * len(operations) + 1.2), layout="constrained")
    axes = figure.subplots(1, len(_PERCENTILES), sharey=True)
    positions = list(range(len(operations)))
    for axis, percentile in zip(axes, _PERCENTILES, strict=True):
        base = [values[op].get(percentile, (0.0, 0.0))[0] for op in operations]
        new = [values[op].get(percentile, (0.0, 0.0))[1] for op in operations]
        axis.barh([p - 0.2 for p in positions], base, height=0.4, label="baseline", color="#7f9cc7")
        axis.barh([p + 0.2 for p in positions], new, height=0.4, label="candidate", color="#e08a3c")
        axis.set_title(percentile)
        axis.set_xlabel("ms")
        axis.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions, [_short(op) for op in operations])
    axes[0].invert_yaxis()
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside upper right", ncols=2, fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _short(operation: str, width: int = 36) -> str:
    return operation if len(operation) <= width else operation[: width - 1] + "…"


def render_html(comparison: Comparison) -> str:
    escape = html.escape
    bad = " bad" if comparison.regressions else ""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>brownout compare</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>brownout compare</h1>",
        f'<p class="summary{bad}">{escape(comparison.summary())}</p>',
        "<ul>",
        f"<li>baseline: {escape(_inputs(comparison.baseline))}</li>",
        f"<li>candidate: {escape(_inputs(comparison.candidate))}</li>",
        f"<li>tolerances: {escape(comparison.tolerance_source)}; confidence {comparison.confidence:.0%}</li>",
        *(f"<li>note: {escape(note)}</li>" for note in comparison.notes),
        *(f"<li><strong>warning</strong>: {escape(warning)}</li>" for warning in comparison.warnings),
        "</ul>",
    ]
    png = chart_png(comparison)
    if png is not None:
        encoded = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<img alt="p50/p95/p99 per operation, baseline vs candidate" src="data:image/png;base64,{encoded}">'
        )
    for scope_kind, heading in ((OPERATION, "Operations"), (FAULT, "Faults"), (INTEGRITY, "Integrity")):
        rows = [row for row in comparison.rows if row.scope_kind == scope_kind]
        if not rows:
            continue
        parts += [
            f"<h2>{heading}</h2>",
            "<table>",
            "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in _COLUMNS) + "</tr>",
        ]
        for row in rows:
            css = {REGRESSED: "regressed", IMPROVED: "improved"}.get(row.verdict, "")
            parts.append(f'<tr class="{css}">' + "".join(f"<td>{escape(c)}</td>" for c in cells(row)) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
