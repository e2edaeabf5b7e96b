"""`brownout report RESULTS_DIR [--criteria FILE] [--format md|html|json|junit]`.

Reads a results directory, runs the checks, writes verdict.json / report.md / report.html / junit.xml into
it, prints a compact verdict table. Exit 0: every check passed; 1: a check failed; 2: the verdict is unknown
(no check failed, but one could not decide and is not allowed to be unknown, e.g. a recovery the run ended
before it could be seen), or bad or missing input (the message names file and line).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brownout.arguments import Parser
from brownout.checks import Criteria, Verdict, judge
from brownout.checks.remarks import NO_REMARKS, Remarks, remarks
from brownout.errors import InputError
from brownout.history import History, load_history
from brownout.inputs import load_toml
from brownout.report.tables import checks_table

if TYPE_CHECKING:
    from brownout.store.standing import Standing

FORMATS = {"json": "verdict.json", "md": "report.md", "html": "report.html", "junit": "junit.xml"}


def criteria_for(history: History, criteria_file: Path | None) -> Criteria:
    """The scenario's [criteria] (from the manifest's scenario copy), overridden key by key by the file."""
    merged: dict[str, Any] = {}
    source, where = f"{history.directory or '.'}/manifest.json", "scenario.criteria"
    scenario_criteria = history.manifest.scenario.get("criteria", {})
    if scenario_criteria:
        # checked alone first, so that a bad value names the manifest when it is the culprit
        Criteria.from_mapping(scenario_criteria, source=source, where=where)
        merged.update(scenario_criteria)
    if criteria_file is not None:
        table = _read_criteria_file(criteria_file)
        Criteria.from_mapping(table, source=str(criteria_file))
        merged.update(table)
        source, where = str(criteria_file), "criteria"
    return Criteria.from_mapping(merged, source=source, where=where)


def _read_criteria_file(path: Path) -> Mapping[str, Any]:
    document = load_toml(path, "criteria file")
    table = document.get("criteria")
    if not isinstance(table, dict):
        raise InputError(f"{path}: expected a [criteria] table")
    return table


def write_outputs(
    verdict: Verdict, history: History, directory: Path, formats: list[str], said: Remarks = NO_REMARKS,
    standing: Standing | None = None,
) -> list[Path]:  # fmt: skip
    from brownout.report.charts import timeline_chart_png
    from brownout.report.html import render_html
    from brownout.report.junit import render_junit
    from brownout.report.markdown import render_markdown

    written = []
    for name in formats:
        path = directory / FORMATS[name]
        if name == "json":
            more = {"release_history": standing.to_json()} if standing is not None else {}
            text = json.dumps(verdict.to_json() | said.to_json() | more, indent=2, default=str) + "\n"
        elif name == "md":
            text = render_markdown(verdict, history, said, standing)
        elif name == "html":
            text = render_html(verdict, history, timeline_chart_png(history), said, standing)
        else:
            text = render_junit(verdict)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def terminal_table(verdict: Verdict, said: Remarks = NO_REMARKS) -> str:
    table = checks_table(verdict)
    width = max(len(row[0]) for row in table.rows) if table.rows else 5
    status_width = max((len(row[1]) for row in table.rows), default=6)
    lines = [
        f"{name:<{width}}  {status:<{status_width}}  {summary}" for name, status, summary, _ in table.rows
    ]
    for check in verdict.checks:
        lines += [
            f"  {check.name}: {reason}" for reason in check.reasons[:5] if verdict.counts_against(check)
        ]
    lines += [f"warning: {text}" for text in said.warnings] + [f"note: {text}" for text in said.notes]
    lines.append(f"verdict: {str(verdict.status).upper()}")
    return "\n".join(lines)


def release_standing(history: History, store: Path | None) -> Standing | None:
    """Where the run sits against the run store it was started with (manifest `store`) or --store names;
    None when neither names one."""
    path = store or (Path(history.manifest.store) if history.manifest.store else None)
    if path is None or history.directory is None:
        return None
    from brownout.store.standing import standing

    return standing(path, Path(history.directory))


def standing_line(standing: Standing) -> str:
    worse = [f"{row.scope} {row.metric}" for row in standing.rows if row.verdict == "regressed"]
    against = f"against release {standing.baseline}" if standing.baseline else "no release to judge against"
    return f"release history ({standing.store}, {against}): " + (
        f"regressed: {', '.join(worse)}" if worse else f"no headline row regressed of {len(standing.rows)}"
    )


def _with_standing_notes(said: Remarks, standing: Standing | None) -> Remarks:
    """A store that gave no rows (missing, unreadable) is one note beside the verdict, never a failure."""
    if standing is None or standing.rows:
        return said
    return Remarks(said.warnings, said.notes + standing.notes)


def _parse_formats(values: list[str] | None) -> list[str]:
    if not values:
        return list(FORMATS)
    chosen: list[str] = []
    for value in values:
        for name in filter(None, value.split(",")):
            if name not in FORMATS:
                raise InputError(f"--format: unknown format {name!r} (choose from {', '.join(FORMATS)})")
            if name not in chosen:
                chosen.append(name)
    return chosen


def main(argv: list[str]) -> int:
    parser = Parser(prog="brownout report", description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", type=Path, help="a results/<run-id>/ directory")
    parser.add_argument(
        "--criteria", type=Path, help="TOML file with a [criteria] table (overrides the scenario's)"
    )
    parser.add_argument(
        "--format", action="append", help="md, html, json, junit (repeat or comma-separate; default: all)"
    )
    parser.add_argument(
        "--store", type=Path, metavar="STORE",
        help="place the run against this run store's last releases (default: the store `brownout run --store` named)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print only the verdict line")
    args = parser.parse_args(argv)
    formats = _parse_formats(args.format)
    history = load_history(args.results_dir)
    criteria = criteria_for(history, args.criteria)
    verdict, standing = judge(history, criteria), release_standing(history, args.store)
    said = _with_standing_notes(remarks(history, criteria), standing)
    written = write_outputs(verdict, history, args.results_dir, formats, said, standing)
    if args.quiet:
        print(f"verdict: {str(verdict.status).upper()}")
    else:
        print(terminal_table(verdict, said))
        if standing is not None and standing.rows:
            print(standing_line(standing))
        print("wrote " + ", ".join(str(p) for p in written))
    sys.stdout.flush()
    return verdict.exit_code
