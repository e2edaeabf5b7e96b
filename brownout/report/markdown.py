"""report.md: the verdict and the report's tables in Markdown (fit for a CI job summary)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from brownout.checks import Verdict
from brownout.checks.remarks import NO_REMARKS, Remarks
from brownout.history import History
from brownout.report.tables import Table, all_tables

if TYPE_CHECKING:
    from brownout.store.standing import Standing


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> str:
    lines = [f"## {table.title}", ""]
    if not table.rows:
        return "\n".join([*lines, "_none_", ""])
    lines.append("| " + " | ".join(table.header) + " |")
    lines.append("|" + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.header))) + "|")
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return "\n".join([*lines, ""])


def render_markdown(
    verdict: Verdict, history: History, remarks: Remarks = NO_REMARKS, standing: Standing | None = None
) -> str:
    manifest = history.manifest
    title = f"# brownout verdict: {str(verdict.status).upper()}"
    facts = (
        f"Run of {manifest.ended_at - manifest.started_at:.0f} s against `{manifest.host or '?'}`, "
        f"brownout {manifest.brownout_version or '?'}, locust {manifest.locust_version or '?'}"
        + (f", git {manifest.git_rev[:12]}." if manifest.git_rev else ".")
    )
    body = [table_markdown(table) for table in all_tables(verdict, manifest.started_at, remarks, standing)]
    return "\n".join([title, "", facts, "", *body])
