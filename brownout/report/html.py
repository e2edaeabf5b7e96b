"""report.html: one self-contained file (inline CSS, chart as a base64 PNG data URI, no external links)."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from brownout.checks import Verdict
from brownout.checks.remarks import NO_REMARKS, Remarks
from brownout.history import History
from brownout.report.tables import Table, all_tables

if TYPE_CHECKING:
    from brownout.store.standing import Standing

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pass { color: #0a7a28; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
.unknown { color: #9a6700; font-weight: bold; }
.note { color: #666; font-style: italic; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; }
"""


# compare's row verdicts (the release history table), coloured like the checks' statuses
_VERDICT_CLASSES = {"regressed": "fail", "improved": "pass", "not judged": "unknown"}


def _status_class(text: str) -> str:
    lowered = text.lower()
    if lowered in _VERDICT_CLASSES:
        return _VERDICT_CLASSES[lowered]
    for status in ("fail", "unknown", "pass"):
        if lowered.startswith(status):
            return status
    return ""


def table_html(table: Table) -> str:
    parts = [f"<h2>{html.escape(table.title)}</h2>"]
    if not table.rows:
        return parts[0] + "<p class='note'>none</p>"
    header = "".join(
        f"<th class='num'>{html.escape(h)}</th>" if i in table.numeric else f"<th>{html.escape(h)}</th>"
        for i, h in enumerate(table.header)
    )
    parts.append(f"<table><tr>{header}</tr>")
    for row in table.rows:
        cells = "".join(_cell_html(cell, column in table.numeric) for column, cell in enumerate(row))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</table>")
    if table.note:
        parts.append(f"<p class='note'>{html.escape(table.note)}</p>")
    return "\n".join(parts)


def _cell_html(cell: str, numeric: bool) -> str:
    classes = " ".join(c for c in (_status_class(cell), "num" if numeric else "") if c)
    return f"<td class='{classes}'>{html.escape(cell)}</td>" if classes else f"<td>{html.escape(cell)}</td>"


def render_html(
    verdict: Verdict, history: History, chart_png: bytes | None, remarks: Remarks = NO_REMARKS,
    standing: Standing | None = None,
) -> str:  # fmt: skip
    manifest = history.manifest
    status = str(verdict.status)
    chart = (
        f"<img alt='throughput, error ratio and p95 over time' src='data:image/png;base64,"
        f"{base64.b64encode(chart_png).decode('ascii')}'>"
        if chart_png
        else "<p class='note'>no chart</p>"
    )
    facts = html.escape(
        f"run of {manifest.ended_at - manifest.started_at:.0f} s against {manifest.host or '?'}; "
        f"brownout {manifest.brownout_version or '?'}, locust {manifest.locust_version or '?'}"
        + (f", git {manifest.git_rev[:12]}" if manifest.git_rev else "")
    )
    tables = "\n".join(table_html(table) for table in all_tables(verdict, manifest.started_at, remarks, standing))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>brownout verdict: {status}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>brownout verdict: <span class='{status}'>{status.upper()}</span></h1>\n"
        f"<p>{facts}</p>\n{chart}\n{tables}\n</body></html>\n"
    )
